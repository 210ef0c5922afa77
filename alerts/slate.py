"""The alert slate: headline, message, station name and logo, the attention signal for its first
seconds, then the message spoken (ffmpeg's flite). Encoded once per alert and stream profile with
exactly the encoder settings of every other piece (playout's own command builder), so each channel
with that profile stream-copies the same file: 100 channels cost one encode.
"""

from __future__ import annotations

import math
import textwrap
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from alerts.attention import attention_signal_for
from alerts.choices import AttentionSignal, MessageStatus
from alerts.models import Alert, AlertSlate, SlateState, StationAlertSettings
from alerts.models.settings import parse_area_codes
from alerts.tones import eas_attention_signal, same_bursts, same_header, silence, station_tone, write_wav
from playout import ffmpeg_commands
from playout.pregen_store import pregen_store
from retrovue.subprocesses import CommandError, run_command

SLATE_COLOR = "0x7a0000"
BANNER_COLOR = "0xffd000"
TAIL_SECONDS = 1.0
SPEECH_TIMEOUT_SECONDS = 60
ENCODE_TIMEOUT_SECONDS = 300
MAX_SPEECH_CHARS = 1800  # ECIG §3.6: the alert text is at most 1800 characters
VOICE = "slt"
HEADLINE_LINES = 3
BODY_LINES = 9
STANDBY_MS = 4000
STANDBY_TITLE = "EMERGENCY ALERT"
STANDBY_SUBTITLE = "Stand by for information"


def slate_root() -> Path:
    """Where an alert's slates live: in the pre-generation store, which every playout machine
    reads (docs/playout-machines.md), because a worker encodes them and whichever machine airs a
    channel breaks in with them. (In the data folder, machines other than the worker's found no
    file and aired the technical-difficulties slate instead of the alert.)"""
    return pregen_store() / "alert-slates"


def standby_root() -> Path:
    """Where each playout machine keeps its stand-by cards: it makes them itself, before any alert,
    and may only read the shared store."""
    return Path(settings.DATA_DIR) / "alert-slates" / "standby"


@dataclass(frozen=True)
class SlateAudio:
    attention_path: Path
    attention_seconds: float
    speech_path: Path
    speech_seconds: float
    signal: str
    header: str


def banner_text(alert: Alert, station_name: str) -> str:
    if alert.status == MessageStatus.ACTUAL:
        label = "EMERGENCY ALERT"
    else:
        label = f"{alert.status.upper()} MESSAGE — NOT A REAL EMERGENCY"
    return f"{station_name.upper()}   {label}" if station_name else label


def spoken_text(alert: Alert) -> str:
    """ECIG §3.6 in spirit: who sends it, then what, then what to do; whitespace collapsed."""
    parts = []
    if alert.status != MessageStatus.ACTUAL:
        parts.append(f"This is a {alert.status.lower()} message. This is not a real emergency.")
    parts.append(f"Message from {alert.sender}." if alert.sender else "")
    parts += [alert.headline + ".", alert.message, alert.instruction]
    text = " ".join(" ".join(part.split()) for part in parts if part and part.strip())
    if len(text) > MAX_SPEECH_CHARS:
        text = text[: MAX_SPEECH_CHARS - 3].rsplit(" ", 1)[0] + " ***"
    return text


def _wrapped(text: str, columns: int, lines: int) -> str:
    wrapped = textwrap.wrap(" ".join(text.split()), width=max(10, columns)) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], wrapped[lines - 1][: max(1, columns - 1)] + "…"]
    return "\n".join(wrapped)


def write_texts(alert: Alert, station: StationAlertSettings, profile, folder: Path) -> dict[str, Path]:
    """The slate's text, wrapped to the frame, in files drawtext reads (no escaping to get wrong)."""
    width, height = profile.width, profile.height
    headline_size, body_size = _sizes(width, height)
    texts = {
        "banner": banner_text(alert, station.station_name),
        "headline": _wrapped(
            alert.headline.upper(), int(width * 0.9 / (headline_size * 0.62)), HEADLINE_LINES
        ),
        "body": _wrapped(
            " ".join(part for part in (alert.message, alert.instruction) if part),
            int(width * 0.9 / (body_size * 0.55)),
            BODY_LINES,
        ),
        "speech": spoken_text(alert),
    }
    paths = {}
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        path.write_text(text or " ", encoding="utf-8")
        paths[name] = path
    return paths


def _sizes(width: int, height: int) -> tuple[int, int]:
    return max(10, round(height / 13)), max(8, round(height / 24))


def attention_samples(
    alert: Alert, station: StationAlertSettings, channel_area_codes: list[str]
) -> tuple[str, list[float], str]:
    """(signal, samples, SAME header). EAS only where `attention_signal_for` allows it, and only with
    location codes to put in the header; otherwise the station tone."""
    signal = attention_signal_for(alert, station)
    if signal == AttentionSignal.EAS:
        locations = [code for code in parse_area_codes(alert.area_codes) if code.isdigit()]
        locations = locations or [code for code in channel_area_codes if code.isdigit()]
        if locations and station.eas_station_id:
            duration = alert.ends_at - alert.starts_at if alert.ends_at else None
            header = same_header(
                station.eas_originator, alert.same_event_code, locations, duration, alert.starts_at,
                station.eas_station_id,
            )  # fmt: skip
            return signal, same_bursts(header) + eas_attention_signal() + silence(1.0), header
    return AttentionSignal.STATION_TONE, station_tone() + silence(0.5), ""


def make_audio(alert: Alert, station: StationAlertSettings, texts: dict[str, Path], folder: Path,
               channel_area_codes: list[str]) -> SlateAudio:  # fmt: skip
    signal, samples, header = attention_samples(alert, station, channel_area_codes)
    attention_path = folder / "attention.wav"
    attention_seconds = write_wav(attention_path, samples)
    speech_path = folder / "speech.wav"
    run_command(speech_argv(texts["speech"], speech_path), timeout=SPEECH_TIMEOUT_SECONDS)
    with wave.open(str(speech_path)) as speech:
        speech_seconds = speech.getnframes() / speech.getframerate()
    return SlateAudio(attention_path, attention_seconds, speech_path, speech_seconds, signal, header)


def speech_argv(text_path: Path, output: Path) -> list[str]:
    source = f"flite=textfile={ffmpeg_commands._filter_value(str(text_path))}:voice={VOICE}"
    return [settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", source, "-ar", "48000", "-ac", "1", str(output)]  # fmt: skip


def slate_duration_ms(audio: SlateAudio, profile) -> int:
    """Attention, speech and a breath, rounded up to whole segments so a replay lands on a boundary."""
    seconds = audio.attention_seconds + audio.speech_seconds + TAIL_SECONDS
    segments = math.ceil(seconds / profile.segment_seconds)
    return segments * profile.segment_seconds * 1000


def slate_argv(
    texts: dict[str, Path], audio: SlateAudio, profile, output: Path, logo: Path | None
) -> list[str]:
    """The encode: a pure function of files and profile, so tests read the command line."""
    quote = ffmpeg_commands._filter_value
    timing = ffmpeg_commands.piece_timing(slate_duration_ms(audio, profile), profile)
    width, height = profile.width, profile.height
    headline_size, body_size = _sizes(width, height)
    banner_size = max(8, round(height / 26))
    banner_h = round(banner_size * 2.2)
    margin = round(width * 0.05)

    def text(name: str, size: int, y: str, colour: str = "white", spacing: int = 0) -> str:
        return (f"drawtext=expansion=none:font=Sans:textfile={quote(str(texts[name]))}:fontcolor={colour}"
                f":fontsize={size}:line_spacing={spacing}:x={margin}:y={y}")  # fmt: skip

    video = (
        f"[0:v]drawbox=x=0:y=0:w=iw:h={banner_h}:color={BANNER_COLOR}:t=fill,"
        f"{text('banner', banner_size, f'({banner_h}-th)/2', 'black')},"
        f"{text('headline', headline_size, str(banner_h + round(height * 0.08)), 'white', headline_size // 4)},"
        f"{text('body', body_size, str(banner_h + round(height * 0.12) + headline_size * 3), 'white', body_size // 3)}"
    )
    if logo:
        logo_h = round(height * 0.12)
        video += (
            f"[slate];movie=filename={quote(str(logo))},scale=-2:{logo_h},format=rgba[logo];"
            f"[slate][logo]overlay=x=W-w-{margin}:y=H-h-{margin // 2}:eof_action=repeat"
        )
    video += f",format=yuv420p,trim=end_frame={timing.frames}[vout]"
    audio_source = (
        f"amovie=filename={quote(str(audio.attention_path))}[attention];"
        f"amovie=filename={quote(str(audio.speech_path))},aresample=48000[speech];"
        "[attention][speech]concat=n=2:v=0:a=1[out0]"
    )
    return ffmpeg_commands._generated_argv(
        f"color=c={SLATE_COLOR}:s={width}x{height}:r={ffmpeg_commands._rate(timing.fps)}",
        audio_source,
        video,
        timing,
        profile,
        output,
        ffmpeg=None,
        preset=ffmpeg_commands.DEFAULT_PRESET,
    )


def ensure_slate(alert: Alert, profile, channel_area_codes: list[str] | None = None) -> AlertSlate:
    """The alert's slate for this profile, encoding it if nobody has: the row is claimed with a
    conditional UPDATE, so concurrent callers (one per channel) never encode twice."""
    slate, _ = AlertSlate.objects.get_or_create(alert=alert, profile=profile)
    with transaction.atomic():
        claimed = AlertSlate.objects.filter(pk=slate.pk, state=SlateState.PENDING).update(
            state=SlateState.ENCODING
        )
    if not claimed:
        slate.refresh_from_db()
        return slate
    return _encode(slate, alert, profile, channel_area_codes or [])


def _encode(slate: AlertSlate, alert: Alert, profile, channel_area_codes: list[str]) -> AlertSlate:
    station = StationAlertSettings.current()
    folder = slate_root() / f"alert-{alert.pk}" / f"profile-{profile.pk}"
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "slate.ts"
    started = time.monotonic()
    try:
        texts = write_texts(alert, station, profile, folder)
        audio = make_audio(alert, station, texts, folder, channel_area_codes)
        logo = Path(station.logo.path) if station.logo else None
        run_command(slate_argv(texts, audio, profile, output, logo), timeout=ENCODE_TIMEOUT_SECONDS)
    except (CommandError, OSError, ValueError) as error:
        slate.state, slate.error = SlateState.FAILED, str(error)[-2000:]
        slate.save(update_fields=["state", "error"])
        return slate
    slate.state = SlateState.READY
    slate.path = str(output.relative_to(slate_root()))
    slate.duration_ms = slate_duration_ms(audio, profile)
    slate.attention_signal = audio.signal
    slate.same_header = audio.header
    slate.encode_seconds = round(time.monotonic() - started, 3)
    slate.error = ""
    slate.save()
    return slate


def slate_file(slate: AlertSlate) -> Path:
    return slate_path(slate.path)


def slate_path(relative: str) -> Path:
    """A ready slate's file. One encoded before slates moved into the shared store is still found
    in the data folder where it was made, so an alert on the air across the upgrade keeps its slate."""
    path = slate_root() / relative
    if not path.exists():
        earlier = Path(settings.DATA_DIR) / "alert-slates" / relative
        if earlier.is_file():
            return earlier
    return path


def encode_slates_for(alert_id: int) -> dict:
    """One slate per stream profile among the channels the alert reaches (slates only: a crawl is
    drawn live per channel)."""
    from alerts.targeting import targeted_channel_ids
    from scheduling.models import Channel

    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        return {"status": "gone"}
    channels = list(Channel.objects.filter(enabled=True).select_related("stream_profile"))
    reached = targeted_channel_ids(alert, [channel.pk for channel in channels])
    profiles = {
        channel.stream_profile_id: channel.stream_profile for channel in channels if channel.pk in reached
    }
    codes = sorted(
        {code for row in alert_channel_settings(reached) for code in row.codes}
    )  # SAME locations for an all-channel alert on an EAS station
    states = {}
    for profile in profiles.values():
        ensure_standby(profile.pk)
        states[profile.name] = ensure_slate(alert, profile, codes).state
    return {"status": "done", "slates": states}


def alert_channel_settings(channel_ids):
    from alerts.models import ChannelAlertSettings

    return ChannelAlertSettings.objects.filter(channel_id__in=channel_ids).exclude(area_codes="")


def ensure_standby(profile_id: int) -> Path | None:
    """A short generic alert card in this profile, aired the moment an alert starts while its own
    slate encodes (a few seconds), so every channel breaks in within two segments. Made once per
    profile and kept; None if it cannot be made (the programme then goes on until the slate is ready)."""
    import os
    import secrets

    from scheduling.models import StreamProfile

    profile = StreamProfile.objects.filter(pk=profile_id).first()
    if profile is None:
        return None
    key = (
        f"{profile.width}x{profile.height}-{profile.frame_rate}-{profile.segment_seconds}s-"
        f"{profile.video_bitrate_kbps}k-{profile.audio_bitrate_kbps}k"
    )
    path = standby_root() / f"standby-{key}.ts"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    argv = ffmpeg_commands.slate_argv(
        STANDBY_MS, profile, temporary, message=STANDBY_TITLE, subtitle=STANDBY_SUBTITLE
    )
    try:
        run_command(argv, timeout=ENCODE_TIMEOUT_SECONDS)
        os.replace(temporary, path)
    except (CommandError, OSError):
        return None
    finally:
        temporary.unlink(missing_ok=True)
    return path
