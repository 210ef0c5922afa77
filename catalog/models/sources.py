from __future__ import annotations

import secrets
import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from catalog.choices import AuthState, LibraryKind, SourceKind
from retrovue.fields import EncryptedTextField


def new_client_identifier() -> str:
    return f"retrovue-{uuid.uuid4()}"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(24)


class MediaSource(models.Model):
    """A place media comes from: a Plex server, a TMM .nfo directory, or a plain media folder.

    One table with a kind rather than one per kind, because libraries, items and sync runs all
    point at "a source" and the per-kind fields are few. Constraints make each kind carry the
    fields it needs. The Plex token is encrypted at rest and never rendered anywhere.
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=SourceKind.choices)
    enabled = models.BooleanField(default=True)

    base_url = models.URLField(blank=True, help_text="Plex server URL, e.g. http://192.168.1.10:32400")
    token = EncryptedTextField(blank=True, help_text="Plex token; stored encrypted and never shown again.")
    client_identifier = models.CharField(
        max_length=100,
        default=new_client_identifier,
        help_text="X-Plex-Client-Identifier RetroVue presents to this server.",
    )
    machine_identifier = models.CharField(max_length=100, blank=True, editable=False)
    paths_case_insensitive = models.BooleanField(
        default=False,
        help_text="The server's file system ignores case (Windows): path mappings match case-insensitively.",
    )

    allow_remote_playback = models.BooleanField(
        default=True,
        help_text="Items no path mapping makes local play by reading the file from the Plex server "
        "over HTTP (the server must allow downloads). Off: such items are not scheduled.",
    )

    path = models.CharField(
        max_length=1024, blank=True, help_text="Folder on this machine (TMM and folder sources)."
    )
    include_subdirectories = models.BooleanField(default=True)

    webhook_secret = models.CharField(
        max_length=64,
        default=new_webhook_secret,
        editable=False,
        help_text="Part of this source's Plex webhook URL; anyone with the URL can trigger syncs.",
    )
    sync_interval_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(5)],
        help_text="How often the scheduled incremental sync runs.",
    )
    last_successful_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    auth_state = models.CharField(
        max_length=16,
        choices=AuthState.choices,
        default=AuthState.UNKNOWN,
        editable=False,
        help_text="Needs sign-in after the server refused the token (401); syncs wait until it is fixed.",
    )
    auth_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    auth_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="source_plex_has_url",
                condition=~Q(kind=SourceKind.PLEX) | ~Q(base_url=""),
                violation_error_message="A Plex source needs the server URL.",
            ),
            models.CheckConstraint(
                name="source_folder_has_path",
                condition=Q(kind=SourceKind.PLEX) | ~Q(path=""),
                violation_error_message="A TMM or folder source needs a path.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_token(self) -> bool:
        return bool(self.token)

    @property
    def needs_sign_in(self) -> bool:
        return self.kind == SourceKind.PLEX and self.auth_state == AuthState.NEEDS_SIGN_IN


class Library(models.Model):
    """One library of a source: a Plex section, or the whole folder for folder sources."""

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="libraries")
    section_key = models.CharField(max_length=40, blank=True, help_text="Plex library section key.")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=LibraryKind.choices)
    sync_enabled = models.BooleanField(default=True)
    locations = models.JSONField(
        default=list, blank=True, help_text="Root folders as the source reports them."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_watermark = models.BigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Newest Plex updatedAt (server clock, epoch seconds) seen by the last successful sync.",
    )

    class Meta:
        ordering = ["source__name", "title"]
        verbose_name_plural = "libraries"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "section_key"],
                condition=~Q(section_key=""),
                name="library_unique_section_per_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.source.name})"


class PathMapping(models.Model):
    """Rewrites a path as the source reports it into the path this machine reads.

    The longest matching prefix wins, so overlapping rules are fine
    (`/data/tv` and `/data/tv/kids` can map to different disks).
    """

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="path_mappings")
    plex_prefix = models.CharField(
        max_length=1024, help_text="Path prefix as Plex reports it, e.g. /data/tv or D:\\TV"
    )
    local_prefix = models.CharField(max_length=1024, help_text="The same folder as this machine sees it.")

    class Meta:
        ordering = ["source__name", "plex_prefix"]
        constraints = [
            models.UniqueConstraint(fields=["source", "plex_prefix"], name="path_mapping_unique_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.plex_prefix} → {self.local_prefix}"
