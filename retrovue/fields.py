"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models

from retrovue import crypto


class EncryptedSecret(str):
    """A decrypted secret whose repr never shows the value (safe in tracebacks and debug output)."""

    def __repr__(self) -> str:
        return "<secret>"


class EncryptedTextField(models.TextField):
    """Stores a string encrypted with the project's Fernet keys; Python code sees the plaintext.

    The column holds only ciphertext, so a database dump or a stray SELECT leaks nothing. Empty
    strings are stored as empty strings so "no token yet" stays distinguishable.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return EncryptedSecret(crypto.decrypt(value))

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(str(value))

    def to_python(self, value):
        return value
