"""Finding 2: a channel logo (or bug) cannot carry script onto the station's origin.

The logo field accepted any file (HTML, SVG with <script>) and /media/ served it back as active
content, published to every player as tvg-logo. Now only decodable raster images are accepted,
stored as a fresh PNG under a content name, and served as inert downloads.
"""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from PIL import Image

from retrovue.core.models import StaffNotice
from scheduling.models import Channel, StreamProfile

pytestmark = pytest.mark.django_db

SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML_PAGE = b"<html><body><script>fetch('/admin/')</script></body></html>"


def image_bytes(fmt: str, size=(32, 24), color=(200, 30, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, color[: len(mode)]).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def channel_form(superuser, upload_field: str, upload: SimpleUploadedFile):
    request = RequestFactory().post("/admin/scheduling/channel/add/")
    request.user = superuser.user
    form_class = admin.site._registry[Channel].get_form(request)
    profile = StreamProfile.objects.create(name="SD")
    data = {
        "number": "7", "name": "Seven", "group": "RetroVue", "enabled": "on", "always_on": "on",
        "stream_profile": str(profile.pk), "bug_corner": "bottom_right", "bug_opacity": "0.6",
        "time_zone": "America/New_York", "seed": "1",
    }  # fmt: skip
    return form_class(data=data, files={upload_field: upload})


def stored_files(root):
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    ("name", "content"),
    [("logo.svg", SVG_WITH_SCRIPT), ("logo.html", HTML_PAGE), ("logo.png", HTML_PAGE), ("logo.png", b"")],
)
@pytest.mark.parametrize("field", ["logo", "bug_image"])
def test_a_non_image_upload_is_refused_and_nothing_is_stored(superuser, media_root, field, name, content):
    form = channel_form(superuser, field, SimpleUploadedFile(name, content))

    assert not form.is_valid()
    assert field in form.errors
    assert stored_files(media_root) == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_an_image_is_stored_as_a_fresh_png_under_a_content_name(superuser, media_root, fmt):
    # A polyglot: a real image with a script appended, as some "image" payloads are made.
    upload = SimpleUploadedFile("My Logo.exe.html", image_bytes(fmt) + HTML_PAGE)
    form = channel_form(superuser, "logo", upload)

    assert form.is_valid(), form.errors
    channel = form.save()

    assert channel.logo.name.startswith("logos/") and channel.logo.name.endswith(".png")
    stored = (media_root / channel.logo.name).read_bytes()
    assert stored.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<script>" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (32, 24)


def test_uploads_are_served_by_django_as_inert_downloads(superuser, media_root, anonymous):
    form = channel_form(superuser, "logo", SimpleUploadedFile("logo.png", image_bytes("PNG")))
    channel = form.save() if form.is_valid() else pytest.fail(str(form.errors))

    response = anonymous.client.get(channel.logo.url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "name", ["logos/page.html", "logos/page.svg", "secret_key", "logos/../../secret_key"]
)
def test_django_serves_nothing_but_stored_upload_names_from_media(media_root, anonymous, name):
    (media_root / "logos").mkdir()
    (media_root / "logos" / "page.html").write_bytes(HTML_PAGE)
    (media_root / "logos" / "page.svg").write_bytes(SVG_WITH_SCRIPT)
    (media_root / "secret_key").write_text("not for the public")

    response = Client().get(f"/media/{name}")

    assert response.status_code == 404


def test_stored_logos_are_rechecked_once_non_images_removed_with_a_notice(media_root):
    from importlib import import_module

    migration = import_module("scheduling.migrations.0006_raster_images")
    (media_root / "logos").mkdir()
    (media_root / "bugs").mkdir()
    (media_root / "logos" / "evil.svg").write_bytes(SVG_WITH_SCRIPT)
    (media_root / "logos" / "fine.jpg").write_bytes(image_bytes("JPEG"))
    (media_root / "bugs" / "bug.png").write_bytes(image_bytes("PNG") + HTML_PAGE)
    profile = StreamProfile.objects.create(name="SD")
    evil = Channel.objects.create(number="3", name="Three", logo="logos/evil.svg", stream_profile=profile)
    fine = Channel.objects.create(
        number="5", name="Five", logo="logos/fine.jpg", bug_image="bugs/bug.png", stream_profile=profile
    )

    migration.recheck_channel_images(apps, None)

    evil.refresh_from_db()
    fine.refresh_from_db()
    assert evil.logo.name == ""
    assert not (media_root / "logos" / "evil.svg").exists()
    notice = StaffNotice.objects.get(key=f"upload:channel:{evil.pk}:logo")
    assert "Channel 3" in notice.title
    assert fine.logo.name.startswith("logos/") and fine.logo.name.endswith(".png")
    assert (media_root / fine.logo.name).read_bytes().startswith(b"\x89PNG")
    assert not (media_root / "logos" / "fine.jpg").exists()
    assert b"<script>" not in (media_root / fine.bug_image.name).read_bytes()
