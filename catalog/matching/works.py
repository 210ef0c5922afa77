"""The works of one kind as matching changes them: loaded once, changed in memory, written in bulk."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from catalog.choices import LinkMethod, WorkKind
from catalog.models import Work, WorkMember

if TYPE_CHECKING:
    from catalog.matching.service import Row

ITEM_FIELD = {WorkKind.MOVIE: "movie", WorkKind.SHOW: "show"}


class WorkState:
    """The works of one kind, loaded once and changed in memory; new works and members are
    written in bulk by `flush` (ids below zero stand for works not written yet)."""

    def __init__(self, kind: str, active: set[int] | None = None):
        self.kind = kind
        self.item_field = ITEM_FIELD[kind]
        self.active = active  # rows still in their source; None: treat every row as active
        self.members: dict[int, WorkMember] = {}
        for member in WorkMember.objects.filter(**{f"{self.item_field}__isnull": False}):
            member.item_id = getattr(member, f"{self.item_field}_id")
            self.members[member.item_id] = member
        self.by_work: dict[int, dict[int, WorkMember]] = defaultdict(dict)
        for member in self.members.values():
            self.by_work[member.work_id][member.source_id] = member
        self.new_works: dict[int, Work] = {}

    def work_of(self, row: Row) -> int | None:
        member = self.members.get(row.pk)
        return member.work_id if member else None

    def link(self, left: Row, right: Row, method: str, confidence: float) -> str:
        """Put both rows in one work: "linked", "already" (nothing to do) or "refused".

        An automatic link is refused when it would give a work two rows of one source; staff's
        link evicts the automatic one in the way instead.
        """
        left_work, right_work = self.work_of(left), self.work_of(right)
        if left_work is not None and left_work == right_work:
            self._stamp(left_work, left, right, method, confidence)
            return "already"
        staff = method == LinkMethod.STAFF
        for row, work in ((right, left_work), (left, right_work)):
            holder = self.by_work.get(work, {}).get(row.source_id) if work is not None else None
            if holder is not None and holder.item_id != row.pk:
                holder_active = self.active is None or holder.item_id in self.active
                if not staff and holder_active:
                    return "refused"
                # Staff's link wins over an automatic one; a removed row yields to its replacement.
                self._remove(holder)
        left_work, right_work = self.work_of(left), self.work_of(right)
        if left_work is not None and right_work is not None:
            if set(self.by_work[left_work]) & set(self.by_work[right_work]):
                if not staff:
                    return "refused"
                self._remove(self.members[right.pk])
                right_work = self.work_of(right)
            else:
                self.flush()  # merging works: both must exist in the database
                left_work, right_work = self.work_of(left), self.work_of(right)
                WorkMember.objects.filter(work_id=right_work).update(work_id=left_work)
                for member in self.by_work.pop(right_work).values():
                    member.work_id = left_work
                    self.by_work[left_work][member.source_id] = member
                Work.objects.filter(pk=right_work).delete()
                self._stamp(left_work, left, right, method, confidence)
                return "linked"
        work_id = left_work if left_work is not None else right_work
        if work_id is None:
            work_id = -(len(self.new_works) + 1)
            self.new_works[work_id] = Work(kind=self.kind, title=left.title, year=left.year)
        for row in (left, right):
            if self.work_of(row) is None:
                self._add(work_id, row, method, confidence)
        self._stamp(work_id, left, right, method, confidence)
        return "linked"

    def _stamp(self, work_id, left, right, method, confidence) -> None:
        if method != LinkMethod.STAFF:
            return
        for member in self.by_work.get(work_id, {}).values():
            if member.item_id in (left.pk, right.pk):
                member.method, member.confidence = method, confidence
                if member.pk is not None:
                    WorkMember.objects.filter(pk=member.pk).update(method=method, confidence=confidence)

    def _add(self, work_id: int, row: Row, method: str, confidence: float) -> None:
        member = WorkMember(
            work_id=work_id, source_id=row.source_id, method=method, confidence=confidence,
            **{f"{self.item_field}_id": row.pk},
        )  # fmt: skip
        member.item_id = row.pk
        self.members[row.pk] = member
        self.by_work[work_id][row.source_id] = member

    def _remove(self, member: WorkMember) -> None:
        if member.pk is not None:
            WorkMember.objects.filter(pk=member.pk).delete()
        self.members.pop(member.item_id, None)
        rest = self.by_work.get(member.work_id, {})
        rest.pop(member.source_id, None)
        if len(rest) < 2:
            # A work of one row is no link at all.
            for other in list(rest.values()):
                self.members.pop(other.item_id, None)
            if member.work_id < 0:
                self.new_works.pop(member.work_id, None)
            else:
                Work.objects.filter(pk=member.work_id).delete()
            self.by_work.pop(member.work_id, None)

    def flush(self) -> None:
        """Write the new works, then every member not written yet."""
        placeholders = [work_id for work_id in self.new_works if work_id in self.by_work]
        created = Work.objects.bulk_create([self.new_works[work_id] for work_id in placeholders])
        for placeholder, work in zip(placeholders, created, strict=True):
            members = self.by_work.pop(placeholder)
            for member in members.values():
                member.work_id = work.pk
            self.by_work[work.pk] = members
        self.new_works.clear()
        pending = [
            member for members in self.by_work.values() for member in members.values() if member.pk is None
        ]
        WorkMember.objects.bulk_create(pending)

    def unlink(self, left: Row, right: Row) -> bool:
        work = self.work_of(left)
        if work is None or work != self.work_of(right):
            return False
        self._remove(self.members[right.pk])
        return True

    def remove_row(self, row: Row) -> bool:
        member = self.members.get(row.pk)
        if member is None:
            return False
        self._remove(member)
        return True
