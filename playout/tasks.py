"""Celery shims for playout; the work is in playout.pregen (tests call those functions).

Names start with `pregen.` so they run on the `pregen` queue (routes in settings).
"""

from celery import shared_task

# Encode messages older than one planning interval are dropped unrun: by then the next plan has
# queued the same rows again in fresh soonest-first order, so a backlog never piles up duplicates.
ENCODE_MESSAGE_EXPIRES_SECONDS = 5 * 60


@shared_task(name="pregen.plan")
def plan(hours: float | None = None) -> dict:
    from playout.pregen import max_enqueued, plan_horizon, requeue_stalled

    stalled = requeue_stalled()
    needed = plan_horizon(hours)
    for row in needed[: max_enqueued()]:
        encode.apply_async((row.pk,), expires=ENCODE_MESSAGE_EXPIRES_SECONDS)
    return {"to_encode": len(needed), "enqueued": min(len(needed), max_enqueued()), "requeued": stalled}


@shared_task(name="pregen.encode")
def encode(pregen_piece_id: int) -> dict:
    from playout.pregen import encode as encode_piece

    row = encode_piece(pregen_piece_id)
    if row is None:
        return {"status": "gone"}
    return {"status": row.status, "encode_seconds": row.encode_seconds or 0}


@shared_task(name="pregen.evict")
def evict(max_bytes: int | None = None) -> dict:
    from playout.pregen import evict as evict_pieces

    return evict_pieces(max_bytes)
