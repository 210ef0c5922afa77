"""Channel graphics drawn from the channel itself: for channels nobody has dressed yet, and the
station ID card that airs where a channel has no station ID clip.

`channel_logo_png` and `channel_bug_png` draw a logo (the tile IPTV players show beside the channel,
published as `tvg-logo`) and a bug (the corner mark burned into every pre-generated piece) from the
channel's number, call sign and a colour taken from its number. `store_channel_image` stores either
exactly as an upload is stored (decoded and re-encoded by retrovue.core.images, named by content),
so a drawn image is indistinguishable from one staff uploaded and replaced the same way.

Pillow draws them (it already decodes every upload); the font is the first bold sans found, or
Pillow's own scalable default, so this works on a machine with no fonts installed.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from functools import cache

from django.core.exceptions import ValidationError
from PIL import Image, ImageDraw, ImageFont

from retrovue.core.images import reencoded_png, stored_name
from retrovue.subprocesses import CommandError, run_command

LOGO_SIZE = 256
# Wider than tall, like most station bugs; playout scales it to at most a fifth of the frame.
BUG_SIZE = (160, 96)
CARD_SIZE = (960, 720)
LOWER_THIRD_SIZE = (1200, 110)
# Saturated, dark enough for white lettering, far enough apart to tell channels apart at a glance.
PALETTE = ("#1d4e9e", "#b8322a", "#2a7d3f", "#7a3d9a", "#c46a12", "#137a7f", "#8a2452", "#4b5563")
WHITE = (255, 255, 255, 255)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
)


def channel_color(number: str) -> str:
    """The channel's colour, the same on every run and machine (a digest, not Python's hash)."""
    digest = hashlib.sha256(number.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def channel_logo_png(number: str, call_sign: str = "", name: str = "") -> bytes:
    """A square tile: the channel number large on the channel's colour, the call sign (or the
    first word of the name) beneath it."""
    image = Image.new("RGBA", (LOGO_SIZE, LOGO_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, LOGO_SIZE - 1, LOGO_SIZE - 1), radius=36, fill=channel_color(number))
    draw.rounded_rectangle((10, 10, LOGO_SIZE - 11, LOGO_SIZE - 11), radius=28, outline=WHITE, width=6)
    _centred(draw, number, box=(20, 24, LOGO_SIZE - 20, 178), fill=WHITE)
    caption = call_sign or (name.split()[0] if name.split() else "")
    if caption:
        _centred(draw, caption.upper(), box=(28, 176, LOGO_SIZE - 28, 228), fill=WHITE)
    return _png(image)


def channel_bug_png(number: str, call_sign: str = "") -> bytes:
    """A white plate with the channel number cut in the channel's colour (and the call sign beneath),
    on a transparent background: it reads over any picture once playout lays it at its opacity."""
    width, height = BUG_SIZE
    image = Image.new("RGBA", BUG_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=18, fill=WHITE)
    color = channel_color(number)
    if call_sign:
        _centred(draw, number, box=(8, 4, width - 8, 62), fill=color)
        _centred(draw, call_sign.upper(), box=(12, 62, width - 12, height - 8), fill=color)
    else:
        _centred(draw, number, box=(8, 8, width - 8, height - 8), fill=color)
    return _png(image)


def station_id_card_png(number: str, call_sign: str = "", name: str = "", logo: bytes | None = None) -> bytes:
    """A station ID card (CARD_SIZE, 4:3): the channel's logo (or a drawn one) over its colour, its
    name and "Channel N" beneath. A logo that does not decode is replaced by the drawn one: the
    card airs either way."""
    width, height = CARD_SIZE
    image = Image.new("RGB", CARD_SIZE, channel_color(number))
    tile = None
    if logo:
        try:
            with Image.open(io.BytesIO(reencoded_png(logo))) as decoded:
                tile = decoded.convert("RGBA")
        except ValidationError:
            tile = None
    if tile is None:
        tile = Image.open(io.BytesIO(channel_logo_png(number, call_sign, name))).convert("RGBA")
    tile.thumbnail((width // 2, height // 2))
    image.paste(tile, ((width - tile.width) // 2, height // 2 - tile.height + 40), tile)
    draw = ImageDraw.Draw(image)
    _centred(
        draw,
        name or call_sign or f"Channel {number}",
        box=(60, height // 2 + 70, width - 60, height // 2 + 150),
        fill=WHITE,
    )
    caption = " · ".join(part for part in (f"Channel {number}", call_sign.upper()) if part)
    _centred(draw, caption, box=(160, height // 2 + 170, width - 160, height // 2 + 220), fill=WHITE)
    return _png(image)


def lower_third_png(title: str, number: str, label: str = "UP NEXT") -> bytes:
    """An "Up next" band (LOWER_THIRD_SIZE, transparent around it): the label on the channel's
    colour, the title in white on a dark translucent bar. Playout scales it to the frame's width."""
    width, height = LOWER_THIRD_SIZE
    image = Image.new("RGBA", LOWER_THIRD_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=14, fill=(10, 10, 20, 200))
    draw.rounded_rectangle((0, 0, 250, height - 1), radius=14, fill=channel_color(number))
    _centred(draw, label, box=(16, 22, 234, height - 22), fill=WHITE)
    _centred(draw, title, box=(280, 18, width - 24, height - 18), fill=WHITE)
    return _png(image)


def store_channel_image(field, png: bytes) -> str:
    """Store `png` as the channel's image field (`Channel._meta.get_field("logo")` or "bug_image")
    stores an upload: re-encoded, named by its content; an identical image already stored is
    reused. Returns the name to put in the field."""
    png = reencoded_png(png)
    name = f"{field.upload_to.rstrip('/')}/{stored_name(png)}"
    storage = field.storage
    if not storage.exists(name):
        from django.core.files.base import ContentFile

        name = storage.save(name, ContentFile(png))
    return name


def _centred(draw: ImageDraw.ImageDraw, text: str, *, box: tuple[int, int, int, int], fill) -> None:
    """`text` as large as fits in `box`, centred in it."""
    left, top, right, bottom = box
    size = bottom - top
    while True:
        font = _font(size)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        if (x1 - x0 <= right - left and y1 - y0 <= bottom - top) or size <= 8:
            break
        size -= 2
    x = left + (right - left - (x1 - x0)) / 2 - x0
    y = top + (bottom - top - (y1 - y0)) / 2 - y0
    draw.text((x, y), text, font=font, fill=fill)


@cache
def _font(size: int):
    path = _font_path()
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


@cache
def _font_path() -> str | None:
    for candidate in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    if shutil.which("fc-match"):
        try:
            found = (
                run_command(["fc-match", "-f", "%{file}", "sans:bold"], timeout=10).stdout.decode().strip()
            )
        except CommandError:
            return None
        if found.lower().endswith((".ttf", ".otf")) and os.path.isfile(found):
            return found
    return None


def _png(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
