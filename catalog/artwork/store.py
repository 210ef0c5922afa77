"""The artwork cache: image bytes in, sha256-named JPEGs of a few fixed widths out.

Files live under `settings.ARTWORK_ROOT` as `ab/<sha256>-w300.jpg` and `-w160.jpg`, the hash being of
the bytes the source sent. The same image for a show and its seasons (or two sources) is stored once,
and a name never gets other content, so nginx lets browsers cache the files for a year. Writes go
to a temporary name and are renamed into place: a reader never sees half a JPEG.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.models.artwork import ARTWORK_WIDTHS, artwork_path

MAX_IMAGE_BYTES = 20 * 1024 * 1024
# Far above any real poster (a 4000x6000 scan is 24 MP); a "decompression bomb" stops here.
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 85
BACKGROUND = (16, 16, 16)


class BadImage(ValueError):
    """The bytes are not an image Pillow can read (HTML error page, truncated or corrupt file)."""


def artwork_root() -> Path:
    return Path(settings.ARTWORK_ROOT)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_cached(digest: str) -> bool:
    root = artwork_root()
    return all((root / artwork_path(digest, width)).is_file() for width in ARTWORK_WIDTHS)


def store_image(data: bytes) -> str:
    """Cache `data` at every width (unless those files exist already); returns its sha256."""
    digest = content_hash(data)
    if is_cached(digest):
        return digest
    image = decode(data)
    root = artwork_root()
    for width in ARTWORK_WIDTHS:
        _write_atomically(root / artwork_path(digest, width), encode_jpeg(resized(image, width)))
    return digest


def decode(data: bytes) -> Image.Image:
    """A fully decoded RGB image, upright (EXIF orientation applied), or BadImage saying why not."""
    if not data:
        raise BadImage("the server sent no bytes")
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImage(f"image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<mediacontainer")):
        raise BadImage("the server sent a web page, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise BadImage(f"image is {image.width}x{image.height}, too large to be artwork")
            image.load()  # decodes everything now: a truncated file fails here, not later
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not an image format RetroVue can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as error:
        raise BadImage(f"corrupt image ({error})"[:200]) from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def resized(image: Image.Image, width: int) -> Image.Image:
    """`width` wide with the aspect kept; a smaller image is not blown up."""
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def encode_jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)  # nginx runs as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
