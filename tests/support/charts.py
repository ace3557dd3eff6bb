"""Record the words the charts hand to matplotlib and Pillow, while they still draw for real."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class DrawnText:
    """Each text drawn, with the font matplotlib or Pillow drew it in."""

    items: list[tuple[str, str]] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """Just the words, without the padding."""
        return [text.strip() for text, _ in self.items if text.strip()]


def record_drawn_text(monkeypatch: pytest.MonkeyPatch) -> DrawnText:
    """Spy on ``matplotlib.text.Text.draw`` (when installed) and ``PIL.ImageDraw.ImageDraw.text``."""
    from PIL import ImageDraw

    drawn = DrawnText()
    pil_text = ImageDraw.ImageDraw.text

    def pillow_spy(self: ImageDraw.ImageDraw, xy: Any, text: Any, *args: Any, **kwargs: Any) -> None:
        font = kwargs.get("font")
        drawn.items.append((str(text), str(getattr(font, "path", "default"))))
        pil_text(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", pillow_spy)
    try:
        from matplotlib.text import Text
    except ImportError:
        return drawn
    mpl_draw = Text.draw

    def matplotlib_spy(self: Text, renderer: Any) -> None:
        drawn.items.append((self.get_text(), self.get_fontname()))
        mpl_draw(self, renderer)

    monkeypatch.setattr(Text, "draw", matplotlib_spy)
    return drawn
