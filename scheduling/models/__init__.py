"""Scheduling models; import them from `scheduling.models`."""

from scheduling.models.channels import Channel, StreamProfile
from scheduling.models.desk import DeskEdit, DeskEntry, DeskVersion, PreemptedProgram
from scheduling.models.logs import Piece, ProgramEntry, ScheduleWarning
from scheduling.models.templates import BreakRule, ScheduleTemplate, TimeSlot

__all__ = [
    "BreakRule",
    "Channel",
    "DeskEdit",
    "DeskEntry",
    "DeskVersion",
    "Piece",
    "PreemptedProgram",
    "ProgramEntry",
    "ScheduleTemplate",
    "ScheduleWarning",
    "StreamProfile",
    "TimeSlot",
]
