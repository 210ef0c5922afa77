"""The catalog's REST API, mounted at /api/catalog/ by retrovue.api. Each endpoint module adds its
routes to the one router; importing them here, in this order, registers them."""

from catalog.api import library, matching  # noqa: F401
from catalog.api.router import router

__all__ = ["router"]
