from alerts.models.alerts import Alert, AlertEvent
from alerts.models.settings import ChannelAlertSettings, StationAlertSettings
from alerts.models.slates import AlertSlate, SlateState

__all__ = ["Alert", "AlertEvent", "AlertSlate", "ChannelAlertSettings", "SlateState", "StationAlertSettings"]
