"""Playout models; import them from `playout.models`."""

from playout.models.runtime import AsRunEntry, ChannelRuntime, RuntimeState
from playout.models.segments import PregenPiece, PregenStatus
from playout.models.viewers import ViewerKind, ViewerTally
from playout.models.workers import PlayoutWorker

__all__ = [
    "AsRunEntry",
    "ChannelRuntime",
    "PlayoutWorker",
    "PregenPiece",
    "PregenStatus",
    "RuntimeState",
    "ViewerKind",
    "ViewerTally",
]
