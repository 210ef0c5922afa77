"""Which attention signal an alert carries, lawfully.

47 CFR §11.45(a) forbids the EAS codes and attention signal, or any imitation, outside real
emergencies and authorised tests; stations have been fined for airing them in programs. So the
default is a station tone that is not the EAS signal (no 853 or 960 Hz), and the EAS two-tone and
SAME headers air only when the station chose them AND the alert is a real one (status Actual).
"""

from __future__ import annotations

from alerts.choices import AttentionSignal, MessageStatus
from alerts.models import Alert, StationAlertSettings

# §11.31(a)(3), §11.32(a)(9): the EAS attention signal is 853 Hz and 960 Hz together, 8–25 s.
EAS_FREQUENCIES_HZ = (853.0, 960.0)
EAS_ATTENTION_SECONDS = 8.0
# The station tone: a two-note chime, C5 then G5, alternating every half second. Both notes are
# far (>90 Hz) from either EAS frequency, so no decoder or listener mistakes it for the EAS signal.
STATION_TONE_HZ = (523.25, 783.99)
STATION_TONE_SECONDS = 4.0


def attention_signal_for(alert: Alert, station: StationAlertSettings | None = None) -> str:
    station = station or StationAlertSettings.current()
    if station.attention_signal == AttentionSignal.EAS and alert.status == MessageStatus.ACTUAL:
        return AttentionSignal.EAS
    return AttentionSignal.STATION_TONE
