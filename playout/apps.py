from django.apps import AppConfig


class PlayoutConfig(AppConfig):
    name = "playout"
    verbose_name = "Playout"

    def ready(self) -> None:
        from playout import health
        from retrovue.core.health import register_group, register_queue_server

        register_group("channels", health.check_channels)
        register_queue_server("playout", health.check_playout_queue)
