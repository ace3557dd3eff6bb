"""Craig zip safety: traversal, links, too many files, zip bombs, no tracks, damaged archives."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from core.meetings.tracks import TrackArchiveError, TrackLimits, extract_tracks, speaker_name


def _zip(path: Path, entries: dict[str, bytes], *, compress: bool = False) -> Path:
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_craig_names_become_speakers_and_files_get_generated_names(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "c.zip",
        {"1-alice.flac": b"a" * 10, "2-Bob Kim.ogg": b"b" * 10, "3-alice.flac": b"c", "info.txt": b"x"},
    )
    tracks = extract_tracks(archive, tmp_path / "out")
    assert list(tracks) == ["alice", "Bob Kim", "alice (2)"]
    assert [p.name for p in tracks.values()] == ["track-00.flac", "track-01.ogg", "track-02.flac"]
    assert tracks["Bob Kim"].read_bytes() == b"b" * 10
    assert speaker_name("dir/12-민수.wav") == "민수"


@pytest.mark.parametrize("name", ["../evil.wav", "/etc/evil.wav", "a/../../evil.wav", "C:evil.wav"])
def test_path_traversal_is_refused(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "c.zip", {name: b"x", "1-ok.wav": b"y"})
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(archive, tmp_path / "out")
    assert err.value.reason == "unsafe_path"
    assert not (tmp_path / "evil.wav").exists()


def test_symlinks_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("1-link.wav")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(archive, tmp_path / "out")
    assert err.value.reason == "unsafe_path"


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "c.zip", {f"{i}-p{i}.wav": b"x" for i in range(5)})
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(archive, tmp_path / "out", TrackLimits(max_files=4))
    assert err.value.reason == "too_many_files"


def test_a_zip_bomb_is_refused_before_extraction(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "c.zip", {"1-bomb.wav": b"\0" * (20 * 1024 * 1024)}, compress=True)
    assert archive.stat().st_size < 100_000
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(archive, tmp_path / "out")
    assert err.value.reason == "zip_bomb"
    assert not list((tmp_path / "out").glob("*"))


def test_total_size_cap(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "c.zip", {"1-a.wav": b"x" * 600, "2-b.wav": b"y" * 600})
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(archive, tmp_path / "out", TrackLimits(max_total_bytes=1000))
    assert err.value.reason == "too_large"


def test_no_tracks_and_damaged_zips(tmp_path: Path) -> None:
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(_zip(tmp_path / "c.zip", {"info.txt": b"x"}), tmp_path / "out")
    assert err.value.reason == "no_tracks"
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TrackArchiveError) as err:
        extract_tracks(broken, tmp_path / "out")
    assert err.value.reason == "bad_zip"


_INFO = """Recording AbCdEf123

Guild:\t\tTeam Room (1000)
Channel:\tstandup (2000)
Requester:\talice#0 (1111)
Start time:\t2026-11-30T09:00:00.000Z

Tracks:
\tAlice Kim (alice) (1111)
\tbob#4821 (2222)
\t민수 (minsu_k) (3333)

Notes:
\t0:00: start
"""


def test_craig_info_display_names_name_the_speakers(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "c.zip",
        {
            "1-alice_1111.flac": b"a",
            "2-bob_2222.flac": b"b",
            "3-minsu_k.flac": b"c",
            "4-guest_9999.flac": b"d",
            "info.txt": _INFO.encode(),
        },
    )
    assert list(extract_tracks(archive, tmp_path / "out")) == ["Alice Kim", "bob", "민수", "guest_9999"]


def test_craig_info_in_other_shapes_and_broken_ones() -> None:
    from core.meetings.craig_info import display_name, parse_info

    mapped = parse_info("Tracks:\n1-alice_1111.flac: Alice Kim\n2-bob.ogg = Bob\n")
    assert display_name("1-alice_1111.flac", mapped) == "Alice Kim"
    assert display_name("2-bob.ogg", mapped) == "Bob"
    numbered = parse_info("Tracks:\n  1: 지수\n  2: Minho Lee\n")
    assert display_name("2-mlee_55.flac", numbered) == "Minho Lee"
    assert display_name("1-anything.flac", numbered) == "지수"
    # No Tracks section, garbage, duplicates that make a match ambiguous: the bare stem.
    assert parse_info("just some notes\n\x00\xff") == []
    assert display_name("3-carol_77.flac", []) == "carol_77"
    twice = parse_info("Tracks:\n\tSam (sam) (1)\n\tSam (sam) (2)\n")
    assert display_name("1-sam.flac", twice) == "Sam"  # the track number still decides
    assert display_name("9-sam.flac", twice) == "sam"
