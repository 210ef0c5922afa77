"""Uploaded images (channel logos and bugs): raster only, proven by decoding, stored re-encoded.

An upload is served from the station's own origin and published to every IPTV player as
`tvg-logo`, and a bug is handed to ffmpeg, which guesses formats from content. So an upload is
accepted only when Pillow decodes it as PNG, JPEG, GIF or WebP within a size limit, and what is
stored is a fresh PNG of its pixels: HTML, SVG, script, polyglot files and metadata do not
survive the trip (the first frame of an animation does).

SVG is refused rather than sanitised: a sanitiser must keep up with every way SVG can run script
or fetch URLs (scripts, event attributes, foreignObject, external references, CSS), ffmpeg cannot
overlay SVG as a bug, and IPTV players draw PNG everywhere. A logo made as SVG is exported as PNG.
"""

from __future__ import annotations

import hashlib
import io

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4096 * 4096

NOT_AN_IMAGE = "Upload a PNG, JPEG, GIF or WebP image (SVG and other files are not accepted)."


def reencoded_png(data: bytes) -> bytes:
    """The image in `data` as a new PNG, or ValidationError saying what to upload instead."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"The image is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise ValidationError(f"The image must be at most {MAX_PIXELS:,} pixels (e.g. 4096×4096).")
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            pixels = image.convert("RGBA" if has_alpha else "RGB")
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise ValidationError(NOT_AN_IMAGE) from error
    output = io.BytesIO()
    pixels.save(output, format="PNG")
    return output.getvalue()


def stored_name(png: bytes) -> str:
    """A name made from the content: nothing of the uploader's file name reaches the disk or a URL."""
    return hashlib.sha256(png).hexdigest()[:32] + ".png"


def read_upload(file) -> bytes:
    file.seek(0)
    data = file.read(MAX_UPLOAD_BYTES + 1)
    file.seek(0)
    return data


def validate_raster_image(file) -> None:
    """A model-field validator: the upload decodes as an accepted raster image."""
    if file and not getattr(file, "_committed", True):
        reencoded_png(read_upload(file))


def recheck_stored_upload(storage, name: str, folder: str) -> tuple[str | None, str]:
    """An image stored before uploads were checked: re-encoded in place when it decodes (returns
    its new name), deleted when it does not or is gone (returns None and why). Run once, by the
    migration that introduced the check, for every stored logo and bug."""
    try:
        with storage.open(name, "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
    except (OSError, ValueError):
        return None, f"the file {name} was missing"
    try:
        png = reencoded_png(data)
    except ValidationError:
        storage.delete(name)
        return None, f"{name} was not a PNG, JPEG, GIF or WebP image, so it was deleted"
    new_name = f"{folder.rstrip('/')}/{stored_name(png)}"
    if new_name != name:
        if not storage.exists(new_name):
            from django.core.files.base import ContentFile

            new_name = storage.save(new_name, ContentFile(png))
        storage.delete(name)
    return new_name, "re-encoded"
