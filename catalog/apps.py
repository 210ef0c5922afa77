from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import signals  # noqa: F401  (keeps a beat entry per source)
        from catalog.health import check_listener
        from retrovue.core.health import register_group

        register_group("listener", check_listener)
