from alerts.models.alerts import Alert, AlertEvent
from alerts.models.cap import CapDocument, CapFeed, CapPriorityRule
from alerts.models.settings import ChannelAlertSettings, StationAlertSettings
from alerts.models.slates import AlertSlate, SlateState

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertSlate",
    "CapDocument",
    "CapFeed",
    "CapPriorityRule",
    "ChannelAlertSettings",
    "SlateState",
    "StationAlertSettings",
]
