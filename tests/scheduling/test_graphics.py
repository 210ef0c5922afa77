"""Drawn channel graphics: a logo and a bug from the channel's number and call sign, stored like
uploads (re-encoded PNG, named by content)."""

from __future__ import annotations

import io

from django.core.files.storage import default_storage
from PIL import Image

from retrovue.core.images import reencoded_png
from scheduling import graphics
from scheduling.models import Channel


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_a_logo_is_a_square_png_in_the_channels_colour_and_the_same_every_time():
    logo = graphics.channel_logo_png("3", "WRVC", "RetroVue Classic TV")
    assert logo == graphics.channel_logo_png("3", "WRVC", "RetroVue Classic TV")
    image = decoded(logo)
    assert image.format == "PNG" and image.size == (graphics.LOGO_SIZE, graphics.LOGO_SIZE)
    colour = graphics.channel_color("3")
    assert image.convert("RGB").getpixel((30, 128)) == Image.new("RGB", (1, 1), colour).getpixel((0, 0))
    # Lettering is drawn: the tile holds white pixels, and another channel gets another tile.
    assert (255, 255, 255) in {pixel for _, pixel in image.convert("RGB").getcolors(1 << 16)}
    assert graphics.channel_logo_png("5", "WRVM") != logo
    assert decoded(graphics.channel_logo_png("12", name="")).size == image.size  # no call sign: fine


def test_a_bug_is_an_opaque_plate_on_a_transparent_background():
    image = decoded(graphics.channel_bug_png("7", "WRVK")).convert("RGBA")
    assert image.size == graphics.BUG_SIZE
    assert image.getpixel((0, 0))[3] == 0  # the rounded corner is see-through
    assert image.getpixel((4, graphics.BUG_SIZE[1] // 2)) == (255, 255, 255, 255)
    lettering = graphics.channel_color("7").lstrip("#")
    rgb = tuple(int(lettering[i : i + 2], 16) for i in (0, 2, 4))
    assert any(pixel[:3] == rgb for _, pixel in image.getcolors(1 << 16))


def test_drawn_images_survive_the_upload_check_and_are_stored_once_by_content(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    png = graphics.channel_logo_png("3", "WRVC")
    assert reencoded_png(png)  # accepted exactly as an upload would be
    field = Channel._meta.get_field("logo")
    name = graphics.store_channel_image(field, png)
    assert name.startswith("logos/") and name.endswith(".png") and default_storage.exists(name)
    assert graphics.store_channel_image(field, png) == name
    assert sorted(path.name for path in (tmp_path / "logos").iterdir()) == [name.removeprefix("logos/")]
    bug = graphics.store_channel_image(Channel._meta.get_field("bug_image"), graphics.channel_bug_png("3"))
    assert bug.startswith("bugs/")
