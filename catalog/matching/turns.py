"""Matching runs and staff decisions take turns on one row, the same way on PostgreSQL and SQLite.

Two syncs finishing together, or a run while staff resolve a conflict, would each build works from
what the other has not committed yet. Each writer therefore locks the MatchingTurn row
(`select_for_update`) inside its transaction; on SQLite, where every transaction of this project
takes the write lock when it begins (IMMEDIATE), the transaction itself already serialises them.
The row's generation moves on with every turn, so a run that judged outside the lock can tell
whether another writer came in between.
"""

from __future__ import annotations

from django.db.models import F

from catalog.models import MatchingTurn

TURN_NAME = "matching"


def generation() -> int:
    """The number of turns taken so far (read without waiting for anyone)."""
    return MatchingTurn.objects.filter(pk=TURN_NAME).values_list("generation", flat=True).first() or 0


def take_turn() -> int:
    """Wait for the lock, move the generation on and return the one seen before; call inside a transaction."""
    # Creating the row is idempotent (ON CONFLICT DO NOTHING), so two first-ever turns cannot collide.
    MatchingTurn.objects.bulk_create([MatchingTurn(name=TURN_NAME)], ignore_conflicts=True)
    before = MatchingTurn.objects.select_for_update().values_list("generation", flat=True).get(pk=TURN_NAME)
    MatchingTurn.objects.filter(pk=TURN_NAME).update(generation=F("generation") + 1)
    return before
