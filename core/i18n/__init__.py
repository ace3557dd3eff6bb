"""User-facing text catalogues, one folder per language and one TOML file per room.

Every user-facing string lives here, never in a handler. Files under ``core/i18n/<locale>/`` are merged;
a key defined twice is an error, and every locale must define the same keys with the same placeholders
(a test checks it). Keys are dotted: ``star.created``. Values are ``str.format`` templates.
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


def t(locale: Locale | str, key: str, /, **fields: object) -> str:
    """Translate ``key`` for ``locale`` and fill its fields.

    A key missing in the locale falls back to English, then to the key itself, so a user never sees a crash
    because a translation is missing (the catalogue test makes that case impossible in a release).
    """
    loc = Locale(locale) if not isinstance(locale, Locale) else locale
    template = catalogue(loc).get(key) or catalogue(Locale.EN).get(key) or key
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return template


class Translator:
    """``t`` bound to one locale."""

    __slots__ = ("locale",)

    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def __call__(self, key: str, /, **fields: object) -> str:
        return t(self.locale, key, **fields)
