"""Finding a Hangul font for the charts: explicit file, matplotlib's font manager, font folders, or none."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import chart_fonts
from core.chart_fonts import ascii_label, hangul_font
from tests.support.extras import need


@pytest.fixture(autouse=True)
def fresh_lookup() -> Iterator[None]:
    hangul_font.cache_clear()
    yield
    hangul_font.cache_clear()


@pytest.fixture
def no_matplotlib_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_fonts, "_from_matplotlib", lambda: None)


def test_installed_font_has_hangul() -> None:
    ft2font = need("matplotlib.ft2font")
    font = hangul_font()
    if font is None:
        pytest.skip(f"no Hangul font installed (apt-get install {chart_fonts.FONT_PACKAGE})")
    assert 0xD55C in ft2font.FT2Font(str(font)).get_charmap()  # 한
    assert hangul_font() is font  # looked up once


def test_explicit_file_wins(tmp_path: Path) -> None:
    mine = tmp_path / "MyHangul.ttf"
    mine.write_bytes(b"not checked")
    assert hangul_font(mine) == mine


def test_missing_explicit_file_is_logged_then_discovery_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.chart_fonts"):
        assert hangul_font(tmp_path / "gone.ttf") == hangul_font()
    assert "gone.ttf does not exist" in caplog.text


@pytest.mark.usefixtures("no_matplotlib_fonts")
def test_font_folders_by_preference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("windows/malgun.ttf", "debian/nanum/NanumGothic.ttf", "debian/DejaVuSans.ttf"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(chart_fonts, "FONT_DIRS", (tmp_path / "missing", tmp_path))
    assert hangul_font() == tmp_path / "debian/nanum/NanumGothic.ttf"


@pytest.mark.usefixtures("no_matplotlib_fonts")
def test_no_font_logs_the_package_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(chart_fonts, "FONT_DIRS", (tmp_path,))
    with caplog.at_level(logging.WARNING, logger="core.chart_fonts"):
        assert hangul_font() is None
        assert hangul_font() is None
    assert len(caplog.records) == 1
    assert "apt-get install fonts-nanum" in caplog.records[0].getMessage()


def test_ascii_label() -> None:
    assert ascii_label("Alex", 3) == "Alex"
    assert ascii_label("민수", 1) == "#1"
