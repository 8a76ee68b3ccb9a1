"""The escalation ladder: reminders (提示), common problems (建议), supervision (督办).

Each rung is raised at most once per stage visit, written with its timeline event
and its notification in the same transaction, and closed when its cause goes away.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from models import Case, CommonProblem, Escalation, StageDeadline
from models.cases import FINAL_STATUSES
from models.records import CommonProblemRecord, EscalationRecord, NotificationRecord
from service.batches import Batch, Statement
from service.case_file import CaseFile
from service.case_store import CaseStore
from service.ladder_rules import distance_m
from service.policy import GroupingRule
from service.timeline import SYSTEM

log = logging.getLogger(__name__)

REMINDER, SUGGESTION, SUPERVISION = 1, 2, 3


class Ladder:
    """Raising and closing escalations on the case files of one transaction."""

    def __init__(self, store: CaseStore, grouping: GroupingRule):
        self.store = store
        self.grouping = grouping

    def remind(self, file: CaseFile, deadline, now: datetime) -> None:
        """The stage is late: a reminder, or a place in a common problem."""
        deadline.reminded_at = now
        group = self._common_problem_for(file, deadline, now)
        if group is not None:
            return
        reason = f"{deadline.stage} not done within {deadline.limit} (提示)"
        self._raise(
            file,
            REMINDER,
            deadline.stage,
            reason,
            now,
            recipient=_recipient(file.case, deadline.stage),
        )

    def supervise(self, file: CaseFile, stage: str, reason: str, now: datetime) -> None:
        """Formal assignment and supervision: flagged on every list until closed."""
        if self._open(file, stage, SUPERVISION):
            return
        self._raise(
            file,
            SUPERVISION,
            stage,
            f"{reason} (交办、督办)",
            now,
            recipient="supervisors",
        )

    def close_stage(self, file: CaseFile, stage: str, now: datetime, why: str) -> None:
        """Every rung raised on this stage closes: its cause went away."""
        self._close(file, stage, (REMINDER, SUGGESTION, SUPERVISION), now, why)
        if file.case.status in FINAL_STATUSES:
            self._close_finished_groups(file, now)

    def close_reminder(
        self, file: CaseFile, stage: str, now: datetime, why: str
    ) -> None:
        self._close(file, stage, (REMINDER, SUGGESTION), now, why)

    def _close(self, file, stage, levels, now, why) -> None:
        still_open = self.store.open_escalations(file)
        for escalation in list(still_open):
            if escalation.stage != stage or escalation.level not in levels:
                continue
            escalation.closed_at = now
            still_open.remove(escalation)
            file.record(
                SYSTEM,
                "escalation_closed",
                f"level {escalation.level} closed: {why}",
                details={"level": escalation.level, "stage": stage},
            )

    def level_of(self, file: CaseFile) -> int:
        return max((e.level for e in self.store.open_escalations(file)), default=0)

    # Common problems

    def _common_problem_for(self, file, deadline, now) -> CommonProblemRecord | None:
        """Group this late case with late neighbours of its category, if enough."""
        rule, case = self.grouping, file.case
        if case.lat is None or case.lng is None or case.category_code is None:
            return None

        problems = CommonProblem.__table__.c
        existing = self.store.rows(
            CommonProblemRecord,
            problems.closed_at.is_(None),
            problems.category_code == case.category_code,
        )
        for group in existing:
            if distance_m(group.lat, group.lng, case.lat, case.lng) <= rule.radius_m:
                self._join(group, file, deadline.stage, now)
                return group

        neighbours = self._late_neighbours(file, now)
        if len(neighbours) + 1 < rule.min_cases:
            return None
        members = [file, *neighbours]
        group = CommonProblemRecord(
            category_code=case.category_code,
            department_code=case.department_code,
            lat=sum(m.case.lat for m in members) / len(members),
            lng=sum(m.case.lng for m in members) / len(members),
            suggestion=(
                f"{len(members)} late cases of {case.category_code} within "
                f"{rule.radius_m:g} m: treat them as one common problem (共性问题)"
            ),
            opened_at=now,
        )
        self.store.insert(group)
        for member in members:
            self._join(group, member, _stage_of(member.case), now, notify=False)
        self._notify(
            file,
            "suggestion",
            _recipient(case, "handling"),
            None,
            now,
            {
                "common_problem": group.id,
                "suggestion": group.suggestion,
                "cases": [m.number for m in members],
            },
        )
        log.info(
            "common problem opened", extra={"group": group.id, "cases": len(members)}
        )
        return group

    def _late_neighbours(self, file, now) -> list[CaseFile]:
        """Open cases of the category nearby, reported within the window, late too.

        They join the group, so they are locked as any change to a case is; one
        that another transaction holds (being handled, or swept elsewhere) is
        left out rather than waited for, which could deadlock two sweeps.
        """
        case, rule = file.case, self.grouping
        window = timedelta(hours=rule.window_hours)
        candidates = self.store.session.execute(
            select(Case.id, Case.lat, Case.lng).where(
                Case.id != case.id,
                Case.category_code == case.category_code,
                Case.status.not_in(FINAL_STATUSES),
                Case.lat.is_not(None),
                Case.created_at >= case.created_at - window,
                Case.created_at <= case.created_at + window,
                _late(now).exists(),
            )
        ).all()
        neighbours = []
        for case_id, lat, lng in candidates:
            if distance_m(lat, lng, case.lat, case.lng) > rule.radius_m:
                continue
            neighbour = self.store.lock_unless_held(case_id)
            # Read again under the lock: it may have moved on meanwhile.
            if neighbour is not None and _is_late(neighbour, now):
                neighbours.append(neighbour)
        return neighbours

    def _join(self, group, member: CaseFile, stage, now, notify=True) -> None:
        escalations = self.store.open_escalations(member)
        if any(e.group_id == group.id for e in escalations):
            return
        # A member late too is not reminded apart: the group speaks for it.
        deadline = member.deadline
        if deadline is not None and deadline.reminded_at is None:
            deadline.reminded_at = now
            deadline.next_check_at = deadline.supervise_at
        self.close_reminder(member, stage, now, f"part of common problem {group.id}")
        reason = f"part of common problem {group.id}: {group.suggestion} (建议)"
        self._raise(
            member,
            SUGGESTION,
            stage,
            reason,
            now,
            group=group,
            recipient=_recipient(member.case, stage) if notify else None,
        )

    def _close_finished_groups(self, file: CaseFile, now) -> None:
        """A common problem ends when the last of its cases, this one, ends."""
        with Batch(self.store.connection) as batch:
            found = batch.run(OPEN_GROUPS_OF_CASE, case_id=file.case.id)
        for group in map(CommonProblemRecord.loaded, found.all()):
            others = self.store.session.scalars(
                select(Case.status)
                .join(Escalation, Escalation.case_id == Case.id)
                .where(Escalation.group_id == group.id, Case.id != file.case.id)
            )
            if all(status in FINAL_STATUSES for status in others):
                file.track(group)
                group.closed_at = now

    # Rows

    def _raise(self, file, level, stage, reason, now, recipient=None, group=None):
        case = file.case
        escalation = EscalationRecord(
            case_id=case.id,
            level=level,
            stage=stage,
            reason=reason,
            raised_at=now,
            department_code=case.department_code,
            group_id=group.id if group else None,
        )
        file.add(escalation)
        self.store.open_escalations(file).append(escalation)
        file.record(
            SYSTEM,
            "escalated",
            reason,
            details={
                "level": level,
                "stage": stage,
                **({"common_problem": group.id} if group else {}),
            },
        )
        if recipient:
            self._notify(
                file,
                _KINDS[level],
                recipient,
                case,
                now,
                {"case": case.number, "level": level, "stage": stage, "reason": reason},
            )
        case.escalation_level = self.level_of(file)
        log.info(
            "escalation raised",
            extra={"case": case.number, "level": level, "stage": stage},
        )

    @staticmethod
    def _notify(file, kind, recipient, case, now, payload) -> None:
        """Into the outbox, written with the file of the change that caused it."""
        file.add(
            NotificationRecord(
                kind=kind,
                recipient=recipient,
                case_id=case.id if case else None,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
        )

    def _open(self, file, stage, level) -> bool:
        return any(
            e.stage == stage and e.level == level
            for e in self.store.open_escalations(file)
        )


_KINDS = {REMINDER: "reminder", SUGGESTION: "suggestion", SUPERVISION: "supervision"}
_problems = CommonProblem.__table__
# Read for every case that ends; most ends find none.
OPEN_GROUPS_OF_CASE = Statement(
    select(_problems).where(
        _problems.c.closed_at.is_(None),
        _problems.c.id.in_(
            select(Escalation.group_id).where(
                Escalation.case_id == bindparam("case_id")
            )
        ),
    )
)
_STAGE_OF_STATUS = {"triage": "triage", "handling": "handling"}


def _late(now):
    """A case's open stage is late: reminded already, or past its due time."""
    return select(StageDeadline.id).where(
        StageDeadline.case_id == Case.id,
        StageDeadline.closed_at.is_(None),
        StageDeadline.paused_since.is_(None),
        (StageDeadline.reminded_at.is_not(None)) | (StageDeadline.due_at <= now),
    )


def _is_late(file: CaseFile, now) -> bool:
    deadline = file.deadline
    return (
        file.case.status not in FINAL_STATUSES
        and deadline is not None
        and deadline.paused_since is None
        and (deadline.reminded_at is not None or deadline.due_at <= now)
    )


def _stage_of(case) -> str:
    return _STAGE_OF_STATUS.get(case.status, case.status)


def _recipient(case, stage: str) -> str:
    if stage == "handling" and case.department_code:
        return f"department:{case.department_code}"
    return "triage"
