"""Import contracts (bot -> adapters -> core) and the user-facing text catalogues."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.domain.identity import Locale
from core.i18n import catalogue, placeholders
from tests.support.extras import required

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_orm_contract_covers_every_core_package_but_storage() -> None:
    """A new package under ``core`` is held to "ORM models and sessions stay in core.storage" too."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (orm,) = [c for c in contracts if c["name"] == "ORM models and sessions stay in core.storage"]
    here = {
        f"core.{path.stem}"
        for path in (ROOT / "core").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert here - {"core.storage"} == {m for m in orm["source_modules"] if m.startswith("core.")}
    assert {"adapters", "bot"} <= set(orm["source_modules"])


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    ko, en = catalogue(Locale.KO), catalogue(Locale.EN)
    assert set(ko) == set(en), sorted(set(ko) ^ set(en))
    for key in ko:
        assert placeholders(ko[key]) == placeholders(en[key]), key


def test_ruff_lint_and_format_are_clean() -> None:
    """ruff (version pinned in constraints.txt) finds nothing and would reformat nothing."""
    exe = Path(sys.executable).parent / "ruff"
    if not exe.exists():
        pytest.fail("ruff is not installed (pip install -e '.[dev]')")
    lint = subprocess.run([str(exe), "check", "."], cwd=ROOT, capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-2000:]
    fmt = subprocess.run(
        [str(exe), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert fmt.returncode == 0, fmt.stdout[-4000:] + fmt.stderr[-2000:]


# mypy follows core and bot into the adapters; without these libraries their types are Any and strict fails.
TYPED_EXTRAS = {"discord": "discord", "telegram": "telegram", "taskiq_redis": "redis", "matplotlib": "voice"}


def test_mypy_strict_passes() -> None:
    """mypy --strict on core and bot (and what they import), as pyproject configures it."""
    missing = sorted(
        {extra for module, extra in TYPED_EXTRAS.items() if importlib.util.find_spec(module) is None}
    )
    if missing:
        reason = f"mypy --strict needs the typed extras {', '.join(missing)} (make install-all)"
        if any(required(extra) for extra in missing):
            pytest.fail(reason)
        pytest.skip(reason)
    exe = Path(sys.executable).parent / "mypy"
    if not exe.exists():
        pytest.fail("mypy is not installed (pip install -e '.[dev]')")
    result = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_module_in_core_bot_or_adapters_exceeds_450_lines() -> None:
    """Modules are split by what they do before they grow past the size a reader takes in (issue #17)."""
    too_long = {
        str(path.relative_to(ROOT)): n
        for package in ("core", "bot", "adapters")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert not too_long, too_long
