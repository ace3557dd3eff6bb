"""The meeting summary's types: what the offline and LLM summarizers produce and every export carries.

The JSON form (``MeetingSummary.to_dict``) is a contract: ``vos meeting summary ID --json`` prints it and the
JSON export embeds it: ``abstract``, ``decisions`` (``text``, ``speaker``, ``when``, ``at``), ``action_items``
(``text``, ``owner``, ``due``, ``due_said``, ``at``), ``open_questions``, ``language`` and ``engine``. ``at``
holds start times in seconds; ``due`` and ``when`` are ISO dates (``2026-12-11``) or date-times
(``2026-12-11T14:00``) resolved against the meeting's date, ``due_said`` the words that were said.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

OFFLINE_ENGINE = "offline"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryPoint:
    """A decision or open question, citing the start times (seconds) it came from."""

    text: str
    speaker: str | None = None
    at: tuple[float, ...] = ()
    when: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionItem:
    """Something someone will do: its owner and due date when they were said."""

    text: str
    owner: str | None = None
    due: str | None = None
    at: tuple[float, ...] = ()
    due_said: str | None = None

    def due_text(self) -> str | None:
        """The due date for people: ``2026-12-11 (by Friday)``, or whichever part is known."""
        if self.due and self.due_said and self.due_said != self.due:
            return f"{self.due} ({self.due_said})"
        return self.due or self.due_said


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingSummary:
    """What a meeting decided, who does what, what is still open, and a short abstract."""

    abstract: str
    abstract_at: tuple[float, ...] = ()
    decisions: tuple[SummaryPoint, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    open_questions: tuple[SummaryPoint, ...] = ()
    engine: str = OFFLINE_ENGINE
    language: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def to_json(self) -> str:
        """JSON text (UTF-8 characters kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeetingSummary:
        """Build from :meth:`to_dict` output (or an LLM's JSON); raises ``ValueError`` when malformed."""
        try:
            return cls(
                abstract=str(data["abstract"]),
                abstract_at=_times(data.get("abstract_at", ())),
                decisions=tuple(_point(p) for p in data.get("decisions", ())),
                action_items=tuple(_action(a) for a in data.get("action_items", ())),
                open_questions=tuple(_point(p) for p in data.get("open_questions", ())),
                engine=str(data.get("engine", OFFLINE_ENGINE)),
                language=str(data.get("language") or ""),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed summary: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> MeetingSummary:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


def _times(value: Any) -> tuple[float, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool))


def _opt(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _point(p: Any) -> SummaryPoint:
    if isinstance(p, str):
        return SummaryPoint(text=p)
    return SummaryPoint(
        text=str(p["text"]),
        speaker=_opt(p.get("speaker")),
        at=_times(p.get("at", ())),
        when=_opt(p.get("when")),
    )


def _action(a: Any) -> ActionItem:
    if isinstance(a, str):
        return ActionItem(text=a)
    return ActionItem(
        text=str(a["text"]),
        owner=_opt(a.get("owner")),
        due=_opt(a.get("due")),
        at=_times(a.get("at", ())),
        due_said=_opt(a.get("due_said")),
    )
