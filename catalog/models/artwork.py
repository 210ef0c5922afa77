"""The artwork columns shows, seasons and items share (posters, episode stills)."""

from __future__ import annotations

from django.db import models

# The fixed widths the artwork task renders; names end in `-w<width>.jpg`.
POSTER_WIDTH = 300
THUMB_WIDTH = 160
ARTWORK_WIDTHS = (POSTER_WIDTH, THUMB_WIDTH)


def artwork_path(content_hash: str, width: int) -> str:
    """Where one rendered size lives under the artwork root (and the URL below ARTWORK_URL)."""
    return f"{content_hash[:2]}/{content_hash}-w{width}.jpg"


class HasArtwork(models.Model):
    """A poster (or, for an episode, its still) fetched once from the source and cached by content hash.

    The sync sets `artwork_ref`; the artwork task fetches every row whose `artwork_ref` differs from
    `artwork_fetched_ref`, so an unchanged reference never costs a request. Plex puts a timestamp in
    the reference (`/library/metadata/12/thumb/1703239236`) and folder sources the file's mtime and
    size, so a new image always comes with a new reference.
    """

    artwork_ref = models.CharField(
        max_length=500,
        blank=True,
        editable=False,
        help_text="The source's reference to the poster: a Plex thumb path, or a file with its mtime.",
    )
    artwork_fetched_ref = models.CharField(
        max_length=500,
        blank=True,
        editable=False,
        help_text="The reference the cached image (or error) is for.",
    )
    artwork_hash = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="sha256 of the image's bytes; names the cached files.",
    )
    artwork_error = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        abstract = True

    def artwork_url(self, width: int = POSTER_WIDTH) -> str | None:
        """The image's path under the site (`/artwork/ab/ab…-w300.jpg`), or None without one."""
        return artwork_url(self.artwork_hash, width)


def artwork_url(content_hash: str | None, width: int = POSTER_WIDTH) -> str | None:
    from django.conf import settings

    if not content_hash:
        return None
    return f"{settings.ARTWORK_URL}{artwork_path(content_hash, width)}"
