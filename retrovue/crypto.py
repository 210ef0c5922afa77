"""Encryption of secrets at rest (Plex tokens and the like).

Fernet gives authenticated encryption, so a tampered or foreign value fails loudly instead of
decrypting to garbage. `RETROVUE_ENCRYPTION_KEYS` may list several keys: the first encrypts, all
decrypt, which lets an operator rotate keys and re-save rows at leisure.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("No encryption key is configured (RETROVUE_ENCRYPTION_KEYS).")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "RETROVUE_ENCRYPTION_KEYS must hold url-safe base64 Fernet keys "
            "(generate one with: python -m retrovue generate-key)"
        ) from error


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.RETROVUE_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretDecryptionError(
            "A stored secret could not be decrypted: the encryption key changed or the value was altered."
        ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
