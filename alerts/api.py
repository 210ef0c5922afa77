"""The /api/alerts/ router. Endpoints arrive with the app's models; the router is mounted now so
authentication and the OpenAPI document cover it from the start."""

from ninja import Router

router = Router(tags=["alerts"])
