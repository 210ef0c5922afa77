"""Playout models; import them from `playout.models`."""

from playout.models.runtime import AsRunEntry, ChannelRuntime, RuntimeState
from playout.models.segments import PregenPiece, PregenStatus

__all__ = ["AsRunEntry", "ChannelRuntime", "PregenPiece", "PregenStatus", "RuntimeState"]
