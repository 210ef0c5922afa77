"""Celery shims for playout; the work is in playout.pregen (tests call those functions).

Names start with `pregen.` so they run on the `pregen` queue (routes in settings), which has a
worker of its own (`python -m retrovue worker --queues pregen --pool threads`): a deep sync or a
chapter detection never waits in front of an encode, and an encode never holds up a sync.

The pre-generation worker, as it starts, removes the partial files its machine's stopped encodes
left and plans at once (soonest piece first), rather than at beat's first tick minutes later; as it
shuts down (Ctrl-C, SIGTERM) it stops its encoders instead of letting them run on. The threads
pool keeps the encoders children of the process that receives the shutdown signal.
"""

import logging

from celery import shared_task, signals

logger = logging.getLogger(__name__)

PREGEN_QUEUE = "pregen"
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


def _consumes_pregen(consumer) -> bool:
    return PREGEN_QUEUE in (consumer.app.amqp.queues.consume_from or {})


@signals.worker_ready.connect
def start_pregeneration(sender=None, **_):
    """A pre-generation worker cleans up after any crash, then plans at once."""
    if sender is None or not _consumes_pregen(sender):
        return
    from playout import encoder_process
    from playout.pregen_encode import remove_partial_files

    encoder_process.resume()
    try:
        remove_partial_files()
        plan.apply_async()
    except Exception:  # the worker must come up regardless; beat plans again within minutes
        logger.exception("Pre-generation: the start-up clean-up and plan failed")


@signals.worker_shutting_down.connect
def stop_encoders(**_):
    """Stop this process's encoders as the worker begins to shut down (warm or cold)."""
    from playout import encoder_process

    stopped = encoder_process.stop_all()
    if stopped:
        logger.info("Pre-generation: stopped %s encoder(s) for shutdown", stopped)
