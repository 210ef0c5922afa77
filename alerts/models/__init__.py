from alerts.models.alerts import Alert, AlertEvent
from alerts.models.settings import ChannelAlertSettings, StationAlertSettings

__all__ = ["Alert", "AlertEvent", "ChannelAlertSettings", "StationAlertSettings"]
