"""Re-keying: Plex gives some items a new ratingKey (after certain agent changes). A "new" item whose
external ids match exactly one row that vanished from the same listing is that row, moved: its key is
updated so schedules that point at it stay valid, and it is rewritten with the new listing's values.
"""

from __future__ import annotations

from collections import defaultdict

from catalog.models import ExternalId

OWNER_FIELDS = {"show": "show_id", "season": "season_id"}  # episodes and movies: playable_id


def rekey(model, plex_type, local, changed, vanished, progress) -> None:
    """Move vanished rows to the keys of arriving items with the same ids; updates `local` and `vanished`."""
    arriving = [item for item in changed if item.rating_key not in local and item.external_ids]
    if not arriving or not vanished:
        return
    vanished_pks = {local[key].pk: key for key in vanished}
    owner_field = OWNER_FIELDS.get(plex_type, "playable_id")
    ids_of_vanished = defaultdict(set)
    for owner_id, provider, value in ExternalId.objects.filter(
        **{f"{owner_field}__in": vanished_pks}
    ).values_list(owner_field, "provider", "value"):
        ids_of_vanished[(provider, value)].add(owner_id)
    for item in arriving:
        candidates = set.union(set(), *(ids_of_vanished.get(pair, set()) for pair in item.external_ids))
        candidates &= set(vanished_pks)
        if len(candidates) != 1:
            continue
        pk = candidates.pop()
        old_key = vanished_pks.pop(pk)
        model.objects.filter(pk=pk).update(rating_key=item.rating_key)
        local[item.rating_key] = local.pop(old_key)
        local[item.rating_key].fingerprint = ""  # rewrite it with the new listing's values
        vanished.discard(old_key)
        progress.change(f"Re-keyed {plex_type}: {item.title} ({old_key} → {item.rating_key})")
