"""Korean particles after a name follow the name's last sound: catalogues use ``{name:이}``, never ``{name}이``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import core.i18n
from core.domain.identity import Locale
from core.i18n import t, with_particle

_KO = Path(core.i18n.__file__).resolve().parent / "ko"
# A placeholder with no format spec directly followed by a particle whose form depends on that name.
_FIXED_PARTICLE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}(이랑|랑|이|가|은|는|을|를|와|과|아|야)")


def test_no_korean_template_fixes_the_particle_after_a_name() -> None:
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(_KO.glob("*.toml"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _FIXED_PARTICLE.search(line)
    ]
    assert found == [], "use {name:과} style placeholders:\n" + "\n".join(found)


def test_the_scan_catches_what_it_is_for() -> None:
    assert _FIXED_PARTICLE.search("다시 {star}와 이야기를")
    assert _FIXED_PARTICLE.search("{name}이랑 같이")
    assert not _FIXED_PARTICLE.search("다시 {star:와} 이야기를")
    assert not _FIXED_PARTICLE.search("{star}의 말투")


@pytest.mark.parametrize(
    ("name", "particle", "expected"),
    [
        ("엄마", "랑", "엄마랑"),
        ("민준", "랑", "민준이랑"),
        ("민준", "이랑", "민준이랑"),
        ("Mia", "랑", "Mia(이)랑"),
    ],
)
def test_rang_takes_the_form_of_the_name(name: str, particle: str, expected: str) -> None:
    assert with_particle(name, particle) == expected


@pytest.mark.parametrize(
    ("star", "expected"), [("엄마", "다시 엄마와 이야기"), ("민준", "다시 민준과 이야기")]
)
def test_the_safety_message_after_a_crisis_names_the_star_with_the_right_particle(
    star: str, expected: str
) -> None:
    assert expected in t(Locale.KO, "safety.care.safe_ack", star=star)
