"""How to install an optional extra: the one hint every "not installed" message uses.

VOS installs from its checkout (``vos`` on PyPI is an unrelated project), so the hint is an editable
install of the extra there. ``voice`` needs resemblyzer without its ``webrtcvad`` requirement (an sdist
that needs a C compiler; ``webrtcvad-wheels`` provides the same module), which ``make install-all`` does.
"""

from __future__ import annotations

NEEDS_MAKE = frozenset({"voice"})
"""Extras a plain ``pip install -e '.[extra]'`` cannot complete on its own."""

INSTALL_ALL = frozenset({"speech", "voice", "telegram", "discord", "redis", "s3"})
"""The extras ``make install-all`` installs (the Makefile's EXTRAS): every one that installs on a CPU."""


def install_hint(extra: str | None = None) -> str:
    """The command that installs ``extra`` (``None``: VOS itself), one line without a trailing period."""
    if extra is None:
        return "pip install -e . in the VOS checkout (or make install)"
    if extra in NEEDS_MAKE:
        return f"run make install-all in the VOS checkout (the '{extra}' extra and resemblyzer)"
    also = " (or make install-all)" if extra in INSTALL_ALL else ""
    return f"pip install -e '.[{extra}]' in the VOS checkout{also}"
