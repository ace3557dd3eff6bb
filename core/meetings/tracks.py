"""Per-speaker track archives (Craig's multi-track zip): one audio file per speaker, named after them.

A zip is untrusted input, so it is read defensively: entries with absolute paths, ``..`` parts or links are
refused, the number of audio files, each file's size, the total size and the compression ratio are capped
(zip bombs), and extraction counts the bytes actually written instead of trusting the headers. Files are
extracted under generated names, never under the names inside the archive.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.meetings.craig_info import MAX_INFO_BYTES, CraigTrack, display_name, parse_info

AUDIO_SUFFIXES = frozenset({".flac", ".ogg", ".opus", ".wav", ".mp3", ".m4a", ".aac", ".webm", ".mka"})
_CRAIG_PREFIX = re.compile(r"^\d+-")
_CHUNK = 1 << 20


class TrackArchiveError(ValueError):
    """A track archive is unsafe or unusable; ``reason`` is a short machine word for the i18n key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackLimits:
    """Caps on what a track archive may hold."""

    max_files: int = 16
    max_file_bytes: int = 500 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: float = 200.0
    """Uncompressed / compressed size above this is a zip bomb (audio barely compresses)."""


def speaker_name(filename: str) -> str:
    """The speaker a track file is named after: ``1-alice.flac`` → ``alice`` (Craig's numbering dropped)."""
    stem = PurePosixPath(filename).stem
    return _CRAIG_PREFIX.sub("", stem).strip() or stem


def _info_tracks(archive: zipfile.ZipFile) -> list[CraigTrack]:
    """The tracks Craig's ``info.txt`` lists (none when the archive has no readable one)."""
    for info in archive.infolist():
        if PurePosixPath(info.filename).name.lower() != "info.txt" or info.is_dir():
            continue
        try:
            with archive.open(info) as src:
                raw = src.read(MAX_INFO_BYTES)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error):
            return []
        return parse_info(raw.decode("utf-8-sig", errors="replace"))
    return []


def _unsafe(info: zipfile.ZipInfo) -> bool:
    path = PurePosixPath(info.filename.replace("\\", "/"))
    mode = info.external_attr >> 16
    return path.is_absolute() or ".." in path.parts or stat.S_ISLNK(mode) or ":" in info.filename


def audio_entries(archive: zipfile.ZipFile, limits: TrackLimits) -> list[zipfile.ZipInfo]:
    """The archive's audio files after every safety check (``TrackArchiveError`` otherwise)."""
    entries: list[zipfile.ZipInfo] = []
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        if _unsafe(info):
            raise TrackArchiveError("unsafe_path", info.filename[:100])
        if PurePosixPath(info.filename).suffix.lower() not in AUDIO_SUFFIXES:
            continue  # Craig adds info.txt and the like
        if info.file_size > limits.max_file_bytes:
            raise TrackArchiveError("too_large", info.filename[:100])
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(1, info.compress_size):
            raise TrackArchiveError("zip_bomb", info.filename[:100])
        total += info.file_size
        entries.append(info)
    if len(entries) > limits.max_files:
        raise TrackArchiveError("too_many_files", str(len(entries)))
    if total > limits.max_total_bytes:
        raise TrackArchiveError("too_large", f"{total} bytes")
    if not entries:
        raise TrackArchiveError("no_tracks")
    return entries


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    written = 0
    with archive.open(info) as src, target.open("wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > budget or written > info.file_size:
                raise TrackArchiveError("zip_bomb", info.filename[:100])
            out.write(chunk)
    return written


def extract_tracks(path: Path, dest: Path, limits: TrackLimits = TrackLimits()) -> dict[str, Path]:
    """Extract a track archive into ``dest``; returns speaker name → audio file, in archive order.

    Speakers are the display names Craig's ``info.txt`` gives, else the file names. Two files named
    after the same person get ``name (2)``. Blocking: call it off the event loop.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TrackArchiveError("bad_zip", str(exc)) from exc
    dest.mkdir(parents=True, exist_ok=True)
    tracks: dict[str, Path] = {}
    with archive:
        budget = limits.max_total_bytes
        entries = audio_entries(archive, limits)
        listed = _info_tracks(archive)
        for index, info in enumerate(entries):
            name = (display_name(info.filename, listed) if listed else speaker_name(info.filename))[:100]
            unique, n = name, 2
            while unique in tracks:
                unique, n = f"{name} ({n})", n + 1
            target = dest / f"track-{index:02d}{PurePosixPath(info.filename).suffix.lower()}"
            try:
                budget -= _extract(archive, info, target, budget)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as exc:
                raise TrackArchiveError("bad_zip", str(exc)) from exc
            tracks[unique] = target
    return tracks
