"""Stage deadlines on the working calendar: opened, paused, extended, closed.

The deadline of a stage is the service's own, kept in `stage_deadlines` and checked by
its indexed `next_check_at`, so it holds for any diagram, with timers or without.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import CalendarDay, Case, Category, ExtensionRequest, StageDeadline
from service.calendar import WorkingCalendar
from service.policy import Policy, StageLimit
from service.reference_cache import reference
from service.settings import Settings
from service.timeline import SYSTEM, record

_LOADED = "suishoupai.deadlines"
# The stages whose lateness escalates; confirming is timed for reports only.
ESCALATING = ("triage", "handling")
TIMED = ("triage", "handling", "confirming")
LAPSED = "the stage ended before a decision"


def working_calendar(session: Session, settings: Settings) -> WorkingCalendar:
    return reference(session).calendar(settings)


def current_policy(session: Session, settings: Settings) -> Policy:
    return reference(session).policy(settings)


@dataclass
class Deadlines:
    """Deadline rows of cases, with the calendar and policy in force for one session."""

    session: Session
    calendar: WorkingCalendar
    policy: Policy
    # The open deadline of each case read or changed here, by case id.
    _open: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, session: Session, settings: Settings) -> "Deadlines":
        """The deadlines of this session; the rules are read once per transaction."""
        loaded = session.info.get(_LOADED)
        if loaded is None:
            loaded = cls(
                session,
                working_calendar(session, settings),
                current_policy(session, settings),
            )
            session.info[_LOADED] = loaded
        return loaded

    @classmethod
    def under(cls, session: Session, rules: "Deadlines") -> "Deadlines":
        """The deadlines of this session under rules read earlier (a sweep reads
        them once for all the cases it visits)."""
        loaded = cls(session, rules.calendar, rules.policy)
        session.info[_LOADED] = loaded
        return loaded

    @staticmethod
    def forget(session: Session) -> None:
        """Read the rules afresh: a new transaction may see categories or calendar
        days that others changed."""
        session.info.pop(_LOADED, None)

    @staticmethod
    def reread_deadlines(session: Session) -> None:
        """Read deadline rows afresh: a newly locked case may have moved on."""
        loaded = session.info.get(_LOADED)
        if loaded is not None:
            loaded._open.clear()

    def open_stage(self, case: Case, stage: str, now: datetime) -> StageDeadline | None:
        if stage not in TIMED:
            return None
        limit = self.policy.limit(case.category_code, stage)
        due = self.calendar.add(now, limit.amount, limit.unit)
        supervise = self.calendar.add(
            now, limit.amount * self.policy.supervision_factor, limit.unit
        )
        deadline = StageDeadline(
            case_id=case.id,
            stage=stage,
            department_code=case.department_code if stage == "handling" else None,
            limit=str(limit),
            started_at=now,
            due_at=due,
            supervise_at=supervise,
            next_check_at=due if stage in ESCALATING else None,
        )
        self.session.add(deadline)
        self._open[case.id] = deadline
        return deadline

    def open_deadline(self, case: Case) -> StageDeadline | None:
        if case.id not in self._open:
            self._open[case.id] = self.session.scalar(
                select(StageDeadline)
                .where(
                    StageDeadline.case_id == case.id, StageDeadline.closed_at.is_(None)
                )
                .order_by(StageDeadline.id.desc())
                .limit(1)
            )
        return self._open[case.id]

    def close_stage(self, case: Case, now: datetime) -> StageDeadline | None:
        deadline = self.open_deadline(case)
        if deadline is None:
            return None
        if deadline.paused_since is not None:
            self.resume(deadline, now)
            self._lapse_waiting_extensions(case, deadline, now)
        deadline.closed_at = now
        deadline.next_check_at = None
        self._open[case.id] = None
        return deadline

    def _lapse_waiting_extensions(self, case, deadline, now) -> None:
        """A request still waiting when its stage ends has nothing left to extend.

        Only a paused stage can have one, so only then is this read at all.
        """
        with self.session.no_autoflush:
            waiting = self.session.scalars(
                select(ExtensionRequest).where(
                    ExtensionRequest.deadline_id == deadline.id,
                    ExtensionRequest.decided_at.is_(None),
                )
            ).all()
        for extension in waiting:
            extension.decided_at = now
            extension.decided_by = SYSTEM
            extension.decision_note = LAPSED
            record(self.session, case, SYSTEM, "extension_lapsed", LAPSED)

    def pause(self, deadline: StageDeadline, now: datetime) -> None:
        """Stop the clock: waiting on another's decision is not the stage's time."""
        if deadline.paused_since is None:
            deadline.paused_since = now
            deadline.next_check_at = None

    def resume(self, deadline: StageDeadline, now: datetime) -> None:
        if deadline.paused_since is None:
            return
        limit = StageLimit.parse(deadline.limit)
        paused = self.measure(deadline.paused_since, now, limit.unit)
        deadline.paused_seconds += paused
        deadline.due_at = self._later(deadline.due_at, paused, limit.unit)
        deadline.supervise_at = self._later(deadline.supervise_at, paused, limit.unit)
        deadline.paused_since = None
        self._schedule(deadline)

    def extend(self, deadline: StageDeadline, until: datetime) -> None:
        """Move the deadline to `until`; supervision moves by as much."""
        if until <= deadline.due_at:
            return
        deadline.supervise_at += until - deadline.due_at
        deadline.due_at = until
        self._schedule(deadline)

    def measure(self, start: datetime, end: datetime, unit: str) -> float:
        """Seconds between two moments, counted as the limit's unit counts time."""
        if unit == "hours":
            return max(0.0, (end - start).total_seconds())
        return self.calendar.working_seconds(start, end)

    def view(self, deadline: StageDeadline, now: datetime) -> dict:
        """The deadline as a case shows it: time used and time left, in hours."""
        unit = StageLimit.parse(deadline.limit).unit
        until = deadline.paused_since or now
        used = self.measure(deadline.started_at, until, unit) - deadline.paused_seconds
        left = (
            self.measure(until, deadline.due_at, unit)
            if until < deadline.due_at
            else -self.measure(deadline.due_at, until, unit)
        )
        return {
            "stage": deadline.stage,
            "limit": deadline.limit,
            "started_at": deadline.started_at,
            "due_at": deadline.due_at,
            "used_hours": round(max(used, 0.0) / 3600, 2),
            "left_hours": round(left / 3600, 2),
            "paused": deadline.paused_since is not None,
        }

    def _later(self, moment: datetime, seconds: float, unit: str) -> datetime:
        if unit == "hours":
            return moment + timedelta(seconds=seconds)
        return self.calendar.add(moment, seconds / 3600, "working_hours")

    def reschedule(self, deadline: StageDeadline) -> None:
        self._schedule(deadline)

    @staticmethod
    def _schedule(deadline: StageDeadline) -> None:
        if deadline.closed_at is not None or deadline.stage not in ESCALATING:
            deadline.next_check_at = None
        elif deadline.reminded_at is None:
            deadline.next_check_at = deadline.due_at
        elif deadline.supervised_at is None:
            deadline.next_check_at = deadline.supervise_at
        else:
            deadline.next_check_at = None


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    Deadlines.forget(session)


@event.listens_for(Session, "after_flush")
def _forget_changed_rules(session: Session, _context) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, Category | CalendarDay) for row in changed):
        Deadlines.forget(session)
