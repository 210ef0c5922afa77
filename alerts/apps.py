from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from alerts import signals  # noqa: F401  (connects the CAP feed schedule)
        from alerts.interrupts import SOURCE
        from retrovue.core import interrupts

        interrupts.register(SOURCE)
