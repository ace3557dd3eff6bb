"""Which font lets the PNG charts (talk time, who-spoke-when) draw Hangul, found once per process.

Names are Korean first, but matplotlib's and Pillow's default fonts have no Hangul glyphs. The charts ask
:func:`hangul_font` for a font file; with ``None`` they fall back to ASCII labels (:func:`ascii_label`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

FONT_PACKAGE = "fonts-nanum"  # Debian/Ubuntu: NanumGothic, 10 MB (fonts-noto-cjk also works, 57 MB)

# Family names, best first: NanumGothic (fonts-nanum), Noto CJK (fonts-noto-cjk), Noto Sans KR (Google
# Fonts), Malgun Gothic (Windows), AppleGothic / Apple SD Gothic Neo (macOS).
PREFERRED_FAMILIES = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "AppleGothic",
    "Apple SD Gothic Neo",
)
# The same fonts by file name, for a machine without matplotlib (the bot image draws charts with Pillow).
PREFERRED_FILES = (
    "NanumGothic.ttf",
    "NanumBarunGothic.ttf",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKkr-Regular.otf",
    "NotoSansKR-Regular.otf",
    "NotoSansKR-Regular.ttf",
    "malgun.ttf",
    "AppleGothic.ttf",
    "AppleSDGothicNeo.ttc",
)
FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
    Path.home() / "Library/Fonts",
    *((Path("C:/Windows/Fonts"),) if os.name == "nt" else ()),
)
_HANGUL_HINTS = ("Nanum", "CJK", "KR", "Gothic", "Malgun", "Gulim", "Dotum", "Batang")
_GA = 0xAC00  # 가, the first Hangul syllable

# rc_context changes process-wide rcParams; charts render in worker threads, so one at a time.
_MATPLOTLIB_LOCK = threading.Lock()


@functools.cache
def hangul_font(explicit: Path | None = None) -> Path | None:
    """A font file with Hangul glyphs: ``explicit`` when it exists, else the best installed one, else None.

    Looked up once per process (per ``explicit``); when nothing is found, one log line names the package.
    """
    if explicit is not None:
        if explicit.is_file():
            return explicit
        log.warning("chart font %s does not exist; looking for an installed Hangul font", explicit)
    found = _from_matplotlib() or _from_font_dirs(FONT_DIRS)
    if found is None:
        log.warning(
            "no Hangul font found: charts use ASCII labels; install %s (apt-get install %s)",
            FONT_PACKAGE,
            FONT_PACKAGE,
        )
    return found


def _from_matplotlib() -> Path | None:
    """The best font matplotlib's font manager knows that really has Hangul glyphs."""
    try:
        from matplotlib import font_manager, ft2font
    except ImportError:
        return None

    def rank(entry: font_manager.FontEntry) -> tuple[int, int, str]:
        family = PREFERRED_FAMILIES.index(entry.name) if entry.name in PREFERRED_FAMILIES else 99
        weight = entry.weight if isinstance(entry.weight, int) else 400
        return family, abs(weight - 400) + (entry.style != "normal") * 1000, entry.fname

    hinted = [e for e in font_manager.fontManager.ttflist if any(h in e.name for h in _HANGUL_HINTS)]
    for entry in sorted(hinted, key=rank):
        with contextlib.suppress(OSError, RuntimeError):
            if _GA in ft2font.FT2Font(entry.fname).get_charmap():
                return Path(entry.fname)
    return None


def _from_font_dirs(dirs: Iterable[Path]) -> Path | None:
    """The best preferred font file under ``dirs`` (by file name; no glyph check without matplotlib)."""
    wanted = {name.lower(): rank for rank, name in enumerate(PREFERRED_FILES)}
    best: tuple[int, Path] | None = None
    for root in dirs:
        for folder, _, files in os.walk(root):
            for name in files:
                rank = wanted.get(name.lower())
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, Path(folder) / name)
    return best[1] if best else None


def ascii_label(text: str, number: int) -> str:
    """``text`` when the default fonts can draw it (ASCII), else ``#number``."""
    return text if text.isascii() else f"#{number}"


@functools.cache
def _matplotlib_family(path: Path) -> str:
    from matplotlib import font_manager

    if all(Path(e.fname) != path for e in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)  # an explicit file, or one installed after the cache was built
    return font_manager.FontProperties(fname=path).get_name()


@contextlib.contextmanager
def matplotlib_font(path: Path | None) -> Iterator[None]:
    """Draw with the Hangul font at ``path`` (DejaVu Sans for anything it lacks) inside this block."""
    import matplotlib

    with _MATPLOTLIB_LOCK:
        family = [_matplotlib_family(path), "DejaVu Sans"] if path else ["DejaVu Sans"]
        with matplotlib.rc_context({"font.family": family}):
            yield
