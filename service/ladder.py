"""The escalation ladder: reminders (提示), common problems (建议), supervision (督办).

Each rung is raised at most once per stage visit, written with its timeline event
and its notification in the same transaction, and closed when its cause goes away.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from models import Case, CommonProblem, Escalation, Notification, StageDeadline
from models.cases import FINAL_STATUSES
from service.ladder_rules import distance_m
from service.policy import GroupingRule
from service.timeline import SYSTEM, record

log = logging.getLogger(__name__)

REMINDER, SUGGESTION, SUPERVISION = 1, 2, 3


class Ladder:
    """Raising and closing escalations for cases within one session."""

    def __init__(self, session: Session, grouping: GroupingRule):
        self.session = session
        self.grouping = grouping

    def remind(self, case: Case, deadline: StageDeadline, now: datetime) -> None:
        """The stage is late: a reminder, or a place in a common problem."""
        deadline.reminded_at = now
        group = self._common_problem_for(case, deadline, now)
        if group is not None:
            return
        reason = f"{deadline.stage} not done within {deadline.limit} (提示)"
        self._raise(
            case,
            REMINDER,
            deadline.stage,
            reason,
            now,
            recipient=_recipient(case, deadline.stage),
        )

    def supervise(self, case: Case, stage: str, reason: str, now: datetime) -> None:
        """Formal assignment and supervision: flagged on every list until closed."""
        if self._open(case, stage, SUPERVISION):
            return
        self._raise(
            case,
            SUPERVISION,
            stage,
            f"{reason} (交办、督办)",
            now,
            recipient="supervisors",
        )

    def close_stage(self, case: Case, stage: str, now: datetime, why: str) -> None:
        """Every rung raised on this stage closes: its cause went away."""
        self._close(case, stage, (REMINDER, SUGGESTION, SUPERVISION), now, why)
        if case.status in FINAL_STATUSES:
            self._close_finished_groups(case, now)

    def close_reminder(self, case: Case, stage: str, now: datetime, why: str) -> None:
        self._close(case, stage, (REMINDER, SUGGESTION), now, why)

    def _close(self, case, stage, levels, now, why) -> None:
        still_open = self._open_escalations(case)
        for escalation in list(still_open):
            if escalation.stage != stage or escalation.level not in levels:
                continue
            escalation.closed_at = now
            still_open.remove(escalation)
            record(
                self.session,
                case,
                SYSTEM,
                "escalation_closed",
                f"level {escalation.level} closed: {why}",
                details={"level": escalation.level, "stage": stage},
            )

    def level_of(self, case: Case) -> int:
        return max((e.level for e in self._open_escalations(case)), default=0)

    # Common problems

    def _common_problem_for(self, case, deadline, now) -> CommonProblem | None:
        """Group this late case with late neighbours of its category, if enough."""
        rule = self.grouping
        if case.lat is None or case.lng is None or case.category_code is None:
            return None

        existing = self.session.scalars(
            select(CommonProblem).where(
                CommonProblem.closed_at.is_(None),
                CommonProblem.category_code == case.category_code,
            )
        ).all()
        for group in existing:
            if distance_m(group.lat, group.lng, case.lat, case.lng) <= rule.radius_m:
                self._join(group, case, deadline.stage, now)
                return group

        neighbours = [
            other
            for other in self._late_neighbours(case, now)
            if distance_m(other.lat, other.lng, case.lat, case.lng) <= rule.radius_m
        ]
        if len(neighbours) + 1 < rule.min_cases:
            return None
        members = [case, *neighbours]
        group = CommonProblem(
            category_code=case.category_code,
            department_code=case.department_code,
            lat=sum(c.lat for c in members) / len(members),
            lng=sum(c.lng for c in members) / len(members),
            suggestion=(
                f"{len(members)} late cases of {case.category_code} within "
                f"{rule.radius_m:g} m: treat them as one common problem (共性问题)"
            ),
            opened_at=now,
        )
        self.session.add(group)
        self.session.flush()
        for member in members:
            self._join(group, member, _stage_of(member), now, notify=False)
        self._notify(
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

    def _late_neighbours(self, case, now) -> list[Case]:
        """Open cases of the category, reported within the window, late as well.

        They join the group, so they are locked as any change to a case is; one
        that another transaction holds (being handled, or swept elsewhere) is
        left out rather than waited for, which could deadlock two sweeps.
        """
        window = timedelta(hours=self.grouping.window_hours)
        late = select(StageDeadline.id).where(
            StageDeadline.case_id == Case.id,
            StageDeadline.closed_at.is_(None),
            StageDeadline.paused_since.is_(None),
            or_(StageDeadline.reminded_at.is_not(None), StageDeadline.due_at <= now),
        )
        return self.session.scalars(
            select(Case)
            .where(
                Case.id != case.id,
                Case.category_code == case.category_code,
                Case.status.not_in(FINAL_STATUSES),
                Case.lat.is_not(None),
                Case.created_at >= case.created_at - window,
                Case.created_at <= case.created_at + window,
                late.exists(),
            )
            .with_for_update(skip_locked=True, of=Case)
            .execution_options(populate_existing=True)
        ).all()

    def _join(self, group, case, stage, now, notify=True) -> None:
        if any(e.group_id == group.id for e in self._open_escalations(case)):
            return
        # A member late too is not reminded apart: the group speaks for it.
        for deadline in self.session.scalars(
            select(StageDeadline).where(
                StageDeadline.case_id == case.id,
                StageDeadline.closed_at.is_(None),
                StageDeadline.reminded_at.is_(None),
            )
        ):
            deadline.reminded_at = now
            deadline.next_check_at = deadline.supervise_at
        self.close_reminder(case, stage, now, f"part of common problem {group.id}")
        reason = f"part of common problem {group.id}: {group.suggestion} (建议)"
        self._raise(
            case,
            SUGGESTION,
            stage,
            reason,
            now,
            group=group,
            recipient=_recipient(case, stage) if notify else None,
        )

    def _close_finished_groups(self, case: Case, now) -> None:
        """A common problem ends when the last of its cases, this one, ends."""
        groups = self.session.scalars(
            select(CommonProblem).where(
                CommonProblem.closed_at.is_(None),
                CommonProblem.id.in_(
                    select(Escalation.group_id).where(Escalation.case_id == case.id)
                ),
            )
        ).all()
        for group in groups:
            others = self.session.scalars(
                select(Case.status)
                .join(Escalation, Escalation.case_id == Case.id)
                .where(Escalation.group_id == group.id, Case.id != case.id)
            )
            if all(status in FINAL_STATUSES for status in others):
                group.closed_at = now

    # Rows

    def _raise(self, case, level, stage, reason, now, recipient=None, group=None):
        escalation = Escalation(
            case_id=case.id,
            level=level,
            stage=stage,
            reason=reason,
            raised_at=now,
            department_code=case.department_code,
            group_id=group.id if group else None,
        )
        self.session.add(escalation)
        self._open_escalations(case).append(escalation)
        record(
            self.session,
            case,
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
                _KINDS[level],
                recipient,
                case,
                now,
                {"case": case.number, "level": level, "stage": stage, "reason": reason},
            )
        case.escalation_level = self.level_of(case)
        log.info(
            "escalation raised",
            extra={"case": case.number, "level": level, "stage": stage},
        )

    def _notify(self, kind, recipient, case, now, payload) -> None:
        self.session.add(
            Notification(
                kind=kind,
                recipient=recipient,
                case_id=case.id if case else None,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
        )

    def _open(self, case, stage, level) -> bool:
        return any(
            e.stage == stage and e.level == level for e in self._open_escalations(case)
        )

    def _open_escalations(self, case) -> list[Escalation]:
        """The case's open escalations, read once a transaction and kept in step."""
        known = self.session.info.setdefault(_OPEN, {})
        if case.id not in known:
            # Every change of the rungs sets the level, so level 0 means none is open.
            known[case.id] = (
                []
                if not case.escalation_level
                else list(
                    self.session.scalars(
                        select(Escalation).where(
                            Escalation.case_id == case.id,
                            Escalation.closed_at.is_(None),
                        )
                    )
                )
            )
        return known[case.id]

    @staticmethod
    def reread(session: Session) -> None:
        """Read escalations afresh: a newly locked case may have moved on."""
        session.info.pop(_OPEN, None)


_KINDS = {REMINDER: "reminder", SUGGESTION: "suggestion", SUPERVISION: "supervision"}
_OPEN = "suishoupai.open_escalations"
_STAGE_OF_STATUS = {"triage": "triage", "handling": "handling"}


def _stage_of(case: Case) -> str:
    return _STAGE_OF_STATUS.get(case.status, case.status)


def _recipient(case: Case, stage: str) -> str:
    if stage == "handling" and case.department_code:
        return f"department:{case.department_code}"
    return "triage"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    Ladder.reread(session)
