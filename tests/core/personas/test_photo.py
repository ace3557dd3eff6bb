"""A star's photo is a real image, re-encoded small, with no metadata left."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.personas.photo import PhotoRejected, prepare_photo


def jpeg_with_exif(path: Path, size: tuple[int, int], orientation: int = 1) -> Path:
    image = Image.new("RGB", size, (10, 200, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ACME"  # Make
    exif[0x8825] = {1: "N", 2: (37.0, 33.0, 59.0)}  # GPSInfo
    image.save(path, format="JPEG", exif=exif)
    return path


def test_metadata_is_stripped_and_the_photo_made_small(tmp_path: Path) -> None:
    photo = prepare_photo(jpeg_with_exif(tmp_path / "a.jpg", (3000, 1000)))
    assert (photo.width, photo.height) == (1024, 341)
    with Image.open(io.BytesIO(photo.jpeg)) as out:
        assert out.format == "JPEG" and out.size == (1024, 341)
        assert not out.getexif() and "exif" not in out.info
    assert b"ACME" not in photo.jpeg


def test_the_exif_orientation_is_applied_before_it_is_dropped(tmp_path: Path) -> None:
    photo = prepare_photo(jpeg_with_exif(tmp_path / "r.jpg", (200, 100), orientation=6))
    assert (photo.width, photo.height) == (100, 200)  # small photos are not enlarged


def test_png_with_transparency_becomes_a_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.new("RGBA", (64, 48), (0, 0, 0, 0)).save(path)
    photo = prepare_photo(path)
    assert photo.jpeg[:2] == b"\xff\xd8" and (photo.width, photo.height) == (64, 48)


@pytest.mark.parametrize(
    "content",
    [
        b'2023-01-05 15:04:26,"user","hi"\n',
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\xff\xd8\xff\xe0garbage",
    ],
    ids=["text", "empty", "truncated-png", "truncated-jpeg"],
)
def test_anything_but_an_image_is_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(PhotoRejected) as caught:
        prepare_photo(path)
    assert caught.value.problem == "not_image"


def test_a_file_over_the_limit_is_rejected_before_decoding(tmp_path: Path) -> None:
    path = jpeg_with_exif(tmp_path / "big.jpg", (800, 800))
    with pytest.raises(PhotoRejected) as caught:
        prepare_photo(path, max_bytes=1000)
    assert caught.value.problem == "too_large"
