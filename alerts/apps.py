from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from alerts.interrupts import SOURCE
        from retrovue.core import interrupts

        interrupts.register(SOURCE)
