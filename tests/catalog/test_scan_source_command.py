"""`manage.py scan_source`: a whole folder source, or only chosen directories."""

import shutil

import pytest
from django.core.management import CommandError, call_command

from catalog.models import MediaSource, ShortFormItem
from tests.catalog.test_probe import make_media_samples

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return make_media_samples(tmp_path_factory.mktemp("scan-command-media"))


@pytest.fixture
def clips_folder(tmp_path, samples):
    for folder, names in {"commercials": ["cola.mp4", "toys.mp4"], "bumpers": ["back.mp4"]}.items():
        (tmp_path / folder).mkdir()
        for name in names:
            shutil.copy(samples.clip, tmp_path / folder / name)
    return tmp_path


def test_whole_source_scan_imports_every_clip(clips_folder, capsys):
    MediaSource.objects.create(name="Clips", kind="folder", path=str(clips_folder))
    call_command("scan_source", "Clips")
    assert ShortFormItem.objects.filter(kind="commercial").count() == 2
    assert ShortFormItem.objects.filter(kind="bumper").count() == 1
    assert "3 added" in capsys.readouterr().out


def test_scanning_one_directory_leaves_the_others_alone(clips_folder):
    MediaSource.objects.create(name="Clips", kind="folder", path=str(clips_folder))
    call_command("scan_source", "Clips")
    (clips_folder / "bumpers" / "back.mp4").unlink()
    (clips_folder / "commercials" / "toys.mp4").unlink()
    call_command("scan_source", "Clips", path=["commercials"])
    assert ShortFormItem.objects.get(kind="bumper").state == "active", "outside the chosen path: untouched"
    assert ShortFormItem.objects.get(title__icontains="toys").state == "removed"


def test_unknown_source_and_plex_source_are_refused_clearly():
    MediaSource.objects.create(name="Plex", kind="plex", base_url="http://127.0.0.1:32400")
    with pytest.raises(CommandError, match="No source named 'Nope'"):
        call_command("scan_source", "Nope")
    with pytest.raises(CommandError, match="Plex server"):
        call_command("scan_source", "Plex")


def test_a_path_outside_the_source_fails_the_scan(clips_folder, tmp_path_factory):
    MediaSource.objects.create(name="Clips", kind="folder", path=str(clips_folder))
    with pytest.raises(CommandError, match="failed"):
        call_command("scan_source", "Clips", path=["/etc"])
