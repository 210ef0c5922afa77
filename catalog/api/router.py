"""The one router every catalog endpoint module adds to; retrovue.api mounts it at /api/catalog/."""

from ninja import Router

router = Router(tags=["catalog"])
PAGE_SIZE = 50
