"""Core action → console lines (pure)."""

from __future__ import annotations

from typing import assert_never

from core.domain.actions import (
    Action,
    AskChoice,
    DeleteProgress,
    SendFile,
    SendText,
    SendVoice,
    ShowProgress,
    TypingPause,
)
from core.domain.identity import Locale
from core.i18n import t


def _caption(caption: str | None) -> str:
    """`` — caption``, its later lines indented under the first (a voice memory's transcript is one)."""
    return " — " + caption.replace("\n", "\n     ") if caption else ""


def render(action: Action, *, star_name: str = "★", locale: Locale = Locale.KO) -> list[str]:
    """The lines to print for one action."""
    match action:
        case SendText(text=text, buttons=buttons, from_star=from_star):
            prefix = f"{star_name}> " if from_star else "VOS> "
            lines = [prefix + text.replace("\n", "\n" + " " * len(prefix))]
            lines += [f"   [{i}] {b.label}" for i, b in enumerate(buttons, 1)]
            return lines
        case AskChoice(prompt=prompt, options=options):
            return ["VOS> " + prompt.replace("\n", "\n     ")] + [
                f"   [{i}] {o.label}" for i, o in enumerate(options, 1)
            ]
        case SendVoice(path=path, caption=caption, duration_s=duration):
            note = t(locale, "lines.console.voice_note", seconds=f"{duration:.1f}", path=path)
            return ["VOS> " + note + _caption(caption)]
        case SendFile(path=path, filename=filename, caption=caption):
            saved = t(locale, "lines.console.file_saved", filename=filename, path=path)
            return ["VOS> " + saved + _caption(caption)]
        case ShowProgress(text=text, fraction=fraction):
            pct = f" {fraction * 100:.0f}%" if fraction is not None and not text.endswith("%") else ""
            return [f"  … {text}{pct}"]
        case TypingPause() | DeleteProgress():
            return []
        case _:
            assert_never(action)
