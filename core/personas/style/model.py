"""The style profile type: how a star wrote, as numbers and short lists, with a stable JSON form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

SpeechLevel = Literal["banmal", "jondaetmal", "mixed", "unknown"]
Counts = tuple[tuple[str, int], ...]
"""``(item, count)`` pairs, most frequent first."""
Rates = tuple[tuple[str, float], ...]
"""``(marker, share of messages containing it)`` pairs, highest first."""

PROFILE_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class StyleProfile:
    """How a star wrote, computed from their text messages (placeholders and deleted markers excluded).

    Rates are shares of the analysed messages in [0, 1]. ``active_hours`` has 24 message counts (local
    hour of day, every message kind). ``traits`` are the LLM-extracted characteristic traits, if any.
    """

    message_count: int = 0
    median_length: float = 0.0
    mean_length: float = 0.0
    burst_rate: float = 0.0
    """Share of thoughts sent as two or more consecutive bubbles (each within 60 s of the previous)."""
    mean_burst_size: float = 1.0
    """Bubbles per thought, on average."""
    speech_level: SpeechLevel = "unknown"
    polite_ratio: float = 0.0
    """Share of classified sentence endings that are polite (존댓말: -요, -니다...)."""
    endings: Counts = ()
    """Most common sentence-final syllables."""
    laughter: Rates = ()
    laugh_token: str = ""
    """The laugh the star typed most, exactly as typed (``ㅋㅋㅋ``)."""
    crying: Rates = ()
    emoji: Counts = ()
    emoji_rate: float = 0.0
    emoticons: Counts = ()
    punctuation: Rates = ()
    """Keys: ``~``, ``~~``, ``...``, ``!``, ``!!``, ``?``, ``??``, ``.`` (a message ending in one period)."""
    no_space_ratio: float = 0.0
    """Share of longer Hangul messages (6+ characters) written without any space."""
    top_words: Counts = ()
    top_phrases: Counts = ()
    address_terms: Counts = ()
    """How the star addressed the other person (아들, 우리 딸, 민수야, honey...)."""
    active_hours: tuple[int, ...] = (0,) * 24
    traits: tuple[str, ...] = ()
    version: int = PROFILE_VERSION

    def rate(self, table: Literal["laughter", "crying", "punctuation"], key: str) -> float:
        """A marker's rate from one of the rate tables, 0.0 when absent."""
        rates: dict[str, float] = dict(getattr(self, table))
        return rates.get(key, 0.0)

    def with_traits(self, traits: list[str] | tuple[str, ...]) -> StyleProfile:
        """A copy carrying LLM-extracted traits."""
        return replace(self, traits=tuple(traits))

    def to_json(self) -> str:
        """Serialise to JSON (pairs become two-element lists); ``from_json`` reads it back."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON fields as stored (``StoredStyle.profile``); ``from_dict`` reads them back."""
        data: dict[str, Any] = json.loads(self.to_json())
        return data

    @classmethod
    def from_json(cls, text: str) -> StyleProfile:
        """Read a profile written by ``to_json``; unknown keys (from newer versions) are ignored."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StyleProfile:
        """Read a profile's stored JSON fields; unknown keys (from newer versions) are ignored."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in known:
                values[name] = _tuples(value)
        return cls(**values)


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples (and pairs) the frozen profile holds."""
    if isinstance(value, list):
        return tuple(tuple(item) if isinstance(item, list) else item for item in value)
    return value
