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
