"""Craig's ``info.txt``: the display names of a multi-track recording's speakers.

Craig names each track file after the account (``1-alice_1111.flac``: the track number, the user name, often
the user id) and lists the tracks in ``info.txt`` with the names people see. The file has changed shape
over Craig's versions and is untrusted, so the parser is tolerant: it reads the lines after ``Tracks:``,
and a track line may be any of

    alice#0 (1111)                  user name (with an old discriminator) and id
    Alice Kim (alice) (1111)        display name, user name, id
    1-alice_1111.flac: Alice Kim    a file and the name to show for it
    2: Bob                          a track number and a name

Each audio file is then matched to a line by its file name, its user id, its user name or its track
number, in that order; a file no line matches keeps its stem without the leading ``N-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_INFO_BYTES = 64 * 1024
_SECTION = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]{0,30}):\s*(?P<rest>.*)$")
_ID = re.compile(r"\((\d{1,25})\)\s*$")
_PAREN = re.compile(r"^(?P<display>.+?)\s*\((?P<user>[^()]+)\)\s*$")
_NUMBERED = re.compile(r"^(?P<n>\d{1,3})\s*[-:.)]\s*(?P<rest>.+)$")
_FILE_MAP = re.compile(r"^(?P<file>\S+?\.[A-Za-z0-9]{2,5})\s*[:=]\s*(?P<name>.+)$")
_DISCRIMINATOR = re.compile(r"#\d{1,4}$")
_TRACK_NO = re.compile(r"^(\d+)-")


@dataclass(frozen=True, slots=True, kw_only=True)
class CraigTrack:
    """One track line of ``info.txt``: what to show and what identifies its file."""

    display: str
    number: int | None = None
    file_stem: str | None = None
    user: str | None = None
    user_id: str | None = None


def _clean(name: str) -> str:
    return " ".join(name.split())[:100]


def _track(line: str, index: int) -> CraigTrack | None:
    text = line.strip().lstrip("-*•").strip()
    if not text:
        return None
    if m := _FILE_MAP.match(text):
        stem = PurePosixPath(m["file"]).stem
        return CraigTrack(display=_clean(m["name"]), number=_number(stem), file_stem=stem)
    number = index
    if m := _NUMBERED.match(text):
        number, text = int(m["n"]), m["rest"].strip()
    user_id = None
    if m := _ID.search(text):
        user_id, text = m[1], text[: m.start()].strip()
    user = None
    if m := _PAREN.match(text):
        text, user = m["display"], _DISCRIMINATOR.sub("", m["user"].strip().lstrip("@"))
    display = _clean(_DISCRIMINATOR.sub("", text.strip()))
    if not display:
        return None
    return CraigTrack(display=display, number=number, user=user or display, user_id=user_id)


def _number(stem: str) -> int | None:
    m = _TRACK_NO.match(stem)
    return int(m[1]) if m else None


def parse_info(text: str) -> list[CraigTrack]:
    """The track lines of an ``info.txt`` (empty when it has no ``Tracks:`` section)."""
    tracks: list[CraigTrack] = []
    inside = False
    for raw in text[:MAX_INFO_BYTES].splitlines():
        line = raw
        section = _SECTION.match(raw)
        if section and not raw[:1].isspace() and not _FILE_MAP.match(raw.strip()):
            inside = section["key"].strip().lower() == "tracks"
            if not (inside and section["rest"].strip()):
                continue
            line = section["rest"]
        if inside and (track := _track(line, len(tracks) + 1)):
            tracks.append(track)
    return tracks


def _bare(stem: str) -> str:
    return _TRACK_NO.sub("", stem).strip() or stem


def display_name(filename: str, tracks: list[CraigTrack]) -> str:
    """The name to show for a track file: from ``info.txt`` when a line matches, else its bare stem."""
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    bare = _bare(stem)
    number = _number(stem)
    user_part, _, id_part = bare.rpartition("_")
    checks = (
        lambda t: t.file_stem is not None and t.file_stem in (stem, bare),
        lambda t: t.user_id is not None and t.user_id == id_part,
        lambda t: t.user is not None and t.user.lower() in (bare.lower(), user_part.lower()),
        lambda t: t.file_stem is None and number is not None and t.number == number,
    )
    for check in checks:
        found = [t for t in tracks if check(t)]
        if len(found) == 1:
            return found[0].display
    return bare


__all__ = ["CraigTrack", "display_name", "parse_info"]
