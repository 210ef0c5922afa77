from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "retrovue.core"
    label = "core"
    verbose_name = "System"

    def ready(self) -> None:
        from retrovue.core import (
            login_throttle,  # noqa: F401  (remembers signed-in devices)
            task_recording,  # noqa: F401  (connects Celery signals)
            worker_heartbeat,  # noqa: F401  (connects Celery signals)
        )
