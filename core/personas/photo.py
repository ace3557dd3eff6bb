"""A star's photo: checked to be a real image, re-encoded small, with every metadata field dropped.

Phones write GPS position, device and time into EXIF; a star's photo is kept for the user, never with
that. ``prepare_photo`` decodes the upload with Pillow (rejecting anything that is not an image, and
decompression bombs), applies the EXIF orientation, and writes a fresh JPEG of at most ``max_side``
pixels a side that carries no EXIF, XMP, ICC or comment.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

MAX_PHOTO_BYTES: Final = 10_000_000
MAX_SIDE: Final = 1024
_MAX_PIXELS: Final = 50_000_000  # a 10 MB file claiming more pixels than this is a decompression bomb

PhotoProblem = Literal["too_large", "not_image"]


class PhotoRejected(ValueError):
    """The upload is not a usable photo: ``problem`` says why (an i18n key suffix)."""

    def __init__(self, problem: PhotoProblem, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else problem)
        self.problem: PhotoProblem = problem


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedPhoto:
    """A re-encoded photo ready for the blob store."""

    jpeg: bytes
    width: int
    height: int


def prepare_photo(path: Path, *, max_bytes: int = MAX_PHOTO_BYTES, max_side: int = MAX_SIDE) -> PreparedPhoto:
    """Validate and re-encode ``path`` (blocking: call it in a thread). Raises :class:`PhotoRejected`."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    size = path.stat().st_size
    if size > max_bytes:
        raise PhotoRejected("too_large", f"{size} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as probe:
                probe.verify()  # a truncated or corrupt file fails here, before decoding pixels
            with Image.open(path) as image:
                if image.width * image.height > _MAX_PIXELS:
                    raise PhotoRejected("not_image", f"{image.width}x{image.height} pixels")
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = upright.convert("RGB")  # drops alpha and palettes; JPEG needs RGB
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRejected("not_image", str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for damaged files
        raise PhotoRejected("not_image", str(exc)) from exc
    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", rgb.size)  # a fresh image: no info dict, no EXIF, nothing carried over
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return PreparedPhoto(jpeg=out.getvalue(), width=clean.width, height=clean.height)
