"""User-facing text catalogues, one folder per language and one TOML file per room.

Every user-facing string lives here, never in a handler. Files under ``core/i18n/<locale>/`` are merged;
a key defined twice is an error, and every locale must define the same keys with the same placeholders
(a test checks it). Keys are dotted: ``star.created``. Values are ``str.format`` templates.

Korean particles follow the name they attach to: ``{star:이}`` gives 엄마가 / 민준이, and likewise ``:은``,
``:을``, ``:과``, ``:으로``, ``:이랑`` and ``:아`` (either form of the pair may be written). A name that
does not end in Hangul or a digit gets both forms, 이(가).
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from core.domain.identity import Locale

_ROOT = Path(__file__).resolve().parent


class CatalogueError(RuntimeError):
    """A catalogue file is malformed or defines a key twice."""


def _flatten(prefix: str, node: dict[str, Any], out: dict[str, str], source: Path) -> None:
    for key, value in node.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out, source)
        elif isinstance(value, str):
            if full in out:
                raise CatalogueError(f"{source.name}: key {full!r} is defined twice")
            out[full] = value
        else:
            raise CatalogueError(f"{source.name}: key {full!r} must be a string")


@cache
def catalogue(locale: Locale) -> dict[str, str]:
    """All strings of one locale, keyed by dotted key."""
    out: dict[str, str] = {}
    for path in sorted((_ROOT / locale.value).glob("*.toml")):
        with path.open("rb") as fh:
            _flatten("", tomllib.load(fh), out, path)
    return out


def placeholders(template: str) -> frozenset[str]:
    """The ``{name}`` fields a template uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


# particle pairs: (after a final consonant, after a vowel), keyed by either form
_PAIRS = (
    ("이", "가"),
    ("은", "는"),
    ("을", "를"),
    ("과", "와"),
    ("으로", "로"),
    ("아", "야"),
    ("이랑", "랑"),
    ("이에요", "예요"),
)
_PARTICLES = {form: pair for pair in _PAIRS for form in pair}
# the final consonant of each digit as read in Korean (영, 일, 이, 삼, 사, 오, 육, 칠, 팔, 구): 0 none, 8 ㄹ
_DIGIT_FINAL = (21, 8, 0, 16, 0, 0, 1, 8, 8, 0)


def _final(word: str) -> int | None:
    """The last syllable's final consonant index (0: none, 8: ㄹ), or ``None`` when it cannot be told."""
    last = word.rstrip()[-1:]
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28
    if last.isdigit() and last.isascii():
        return _DIGIT_FINAL[int(last)]
    return None


def with_particle(word: str, particle: str) -> str:
    """``word`` followed by the form of ``particle`` that its last sound takes (엄마가, 민준이, 서울로)."""
    consonant_form, vowel_form = _PARTICLES[particle]
    final = _final(word)
    if final is None:
        if consonant_form.endswith(vowel_form):  # 으로/로, 이랑/랑: (으)로, (이)랑
            return f"{word}({consonant_form.removesuffix(vowel_form)}){vowel_form}"
        return f"{word}({consonant_form}){vowel_form}" if consonant_form != "이에요" else f"{word}이에요"
    if consonant_form == "으로":
        return word + (vowel_form if final in (0, 8) else consonant_form)
    return word + (vowel_form if final == 0 else consonant_form)


class _Formatter(string.Formatter):
    """``str.format`` plus the Korean particle specs (``{name:이}``)."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec in _PARTICLES:
            return with_particle(str(value), format_spec)
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def t(locale: Locale | str, key: str, /, **fields: object) -> str:
    """Translate ``key`` for ``locale`` and fill its fields.

    A key missing in the locale falls back to English, then to the key itself, so a user never sees a crash
    because a translation is missing (the catalogue test makes that case impossible in a release).
    """
    loc = Locale(locale) if not isinstance(locale, Locale) else locale
    template = catalogue(loc).get(key) or catalogue(Locale.EN).get(key) or key
    try:
        return _FORMATTER.vformat(template, (), fields)
    except (KeyError, IndexError, ValueError):
        return template


class Translator:
    """``t`` bound to one locale."""

    __slots__ = ("locale",)

    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def __call__(self, key: str, /, **fields: object) -> str:
        return t(self.locale, key, **fields)
