from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.choices import SignInState
from catalog.models.sources import MediaSource
from retrovue.fields import EncryptedTextField


def new_device_identifier() -> str:
    return f"retrovue-{uuid.uuid4()}"


class PlexDevice(models.Model):
    """RetroVue as a Plex client device (a single row): the X-Plex-Client-Identifier it signs in with.

    plex.tv ties the tokens it issues to this identifier and lists the device under the account's
    authorised devices, so it stays the same for the life of the installation.
    """

    client_identifier = models.CharField(max_length=100, unique=True, default=new_device_identifier)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_identifier

    @classmethod
    def identifier(cls) -> str:
        device = cls.objects.order_by("pk").first()
        if device is None:
            device, _ = cls.objects.get_or_create(pk=1)
        return device.client_identifier


class PlexSignIn(models.Model):
    """One PIN sign-in to plex.tv started from the admin: the code shown, then the account it yielded.

    The account token is kept (encrypted) only between approval and the choice of a server; choosing
    one wipes it. `source` is set when the sign-in repairs an existing source.
    """

    pin_id = models.BigIntegerField()
    code = models.CharField(max_length=64)
    client_identifier = models.CharField(max_length=100)
    state = models.CharField(max_length=12, choices=SignInState.choices, default=SignInState.WAITING)
    account_token = EncryptedTextField(blank=True)
    account_name = models.CharField(max_length=200, blank=True)
    source = models.ForeignKey(
        MediaSource, on_delete=models.CASCADE, null=True, blank=True, related_name="plex_sign_ins"
    )
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    signed_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Plex sign-in {self.code[:6]}… ({self.get_state_display()})"

    @property
    def expired(self) -> bool:
        return self.state == SignInState.WAITING and timezone.now() >= self.expires_at
