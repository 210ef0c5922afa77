"""The catalog's REST API, mounted at /api/catalog/ by retrovue.api."""

from catalog.api.library import router

__all__ = ["router"]
