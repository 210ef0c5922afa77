from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import (
            metrics,
            signals,  # noqa: F401  (keeps a beat entry per source)
        )
        from catalog.health import check_listener
        from retrovue.core.health import register_group
        from retrovue.core.metrics import register_families

        register_group("listener", check_listener)
        register_families("sync", metrics.sync_families)
        register_families("listener", metrics.notification_listener_families)
