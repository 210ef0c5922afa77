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


class RasterImageField(models.FileField):
    """An uploaded image that is stored only as a fresh PNG of its pixels (see retrovue.core.images).

    The validator refuses anything Pillow cannot decode as PNG, JPEG, GIF or WebP; saving
    re-encodes the upload and names it by its content.
    """

    def __init__(self, *args, **kwargs):
        from retrovue.core.images import validate_raster_image

        kwargs.setdefault("validators", [validate_raster_image])
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("validators", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        from django.core.files.base import ContentFile

        from retrovue.core.images import read_upload, reencoded_png, stored_name

        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            png = reencoded_png(read_upload(file))
            file.save(stored_name(png), ContentFile(png), save=False)
        return file
