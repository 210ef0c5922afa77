from django.apps import AppConfig


class PlayoutConfig(AppConfig):
    name = "playout"
    verbose_name = "Playout"

    def ready(self) -> None:
        from playout import health, metrics
        from retrovue.core.health import register_group, register_queue_server
        from retrovue.core.metrics import register_families

        register_group("channels", health.check_channels)
        register_queue_server("playout", health.check_playout_queue)
        register_families("channels", metrics.channel_families)
