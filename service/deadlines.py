"""Stage deadlines on the working calendar: opened, paused, extended, closed.

The deadline of a stage is the service's own, kept in `stage_deadlines` and checked by
its indexed `next_check_at`, so it holds for any diagram, with timers or without.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from models import CalendarDay, Category, ExtensionRequest
from models.records import DeadlineRecord, ExtensionRecord
from service.calendar import WorkingCalendar
from service.case_file import CaseFile
from service.case_store import CaseStore
from service.policy import Policy, StageLimit
from service.reference_cache import reference
from service.settings import Settings
from service.timeline import SYSTEM

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
    """The calendar and limits in force for one transaction, and the stage clocks
    they run in case files."""

    session: Session
    calendar: WorkingCalendar
    policy: Policy

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

    def open_stage(
        self, file: CaseFile, stage: str, now: datetime
    ) -> DeadlineRecord | None:
        if stage not in TIMED:
            return None
        case = file.case
        limit = self.policy.limit(case.category_code, stage)
        due = self.calendar.add(now, limit.amount, limit.unit)
        supervise = self.calendar.add(
            now, limit.amount * self.policy.supervision_factor, limit.unit
        )
        deadline = DeadlineRecord(
            case_id=case.id,
            stage=stage,
            department_code=case.department_code if stage == "handling" else None,
            limit=str(limit),
            started_at=now,
            due_at=due,
            supervise_at=supervise,
            next_check_at=due if stage in ESCALATING else None,
        )
        file.add(deadline)
        file.deadline = deadline
        return deadline

    def close_stage(self, file: CaseFile, now: datetime) -> DeadlineRecord | None:
        deadline = file.deadline
        if deadline is None:
            return None
        if deadline.paused_since is not None:
            self.resume(deadline, now)
            self._lapse_waiting_extensions(file, deadline, now)
        deadline.closed_at = now
        deadline.next_check_at = None
        file.deadline = None
        return deadline

    def _lapse_waiting_extensions(self, file, deadline, now) -> None:
        """A request still waiting when its stage ends has nothing left to extend.

        Only a paused stage can have one, so only then is this read at all.
        """
        requests = ExtensionRequest.__table__.c
        waiting = CaseStore.of(self.session).rows(
            ExtensionRecord,
            requests.deadline_id == deadline.id,
            requests.decided_at.is_(None),
        )
        for extension in waiting:
            file.track(extension)
            extension.decided_at = now
            extension.decided_by = SYSTEM
            extension.decision_note = LAPSED
            file.record(SYSTEM, "extension_lapsed", LAPSED)

    def pause(self, deadline: DeadlineRecord, now: datetime) -> None:
        """Stop the clock: waiting on another's decision is not the stage's time."""
        if deadline.paused_since is None:
            deadline.paused_since = now
            deadline.next_check_at = None

    def resume(self, deadline: DeadlineRecord, now: datetime) -> None:
        if deadline.paused_since is None:
            return
        limit = StageLimit.parse(deadline.limit)
        paused = self.measure(deadline.paused_since, now, limit.unit)
        deadline.paused_seconds += paused
        deadline.due_at = self._later(deadline.due_at, paused, limit.unit)
        deadline.supervise_at = self._later(deadline.supervise_at, paused, limit.unit)
        deadline.paused_since = None
        self._schedule(deadline)

    def extend(self, deadline: DeadlineRecord, until: datetime) -> None:
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

    def view(self, deadline: DeadlineRecord, now: datetime) -> dict:
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

    def reschedule(self, deadline: DeadlineRecord) -> None:
        self._schedule(deadline)

    @staticmethod
    def _schedule(deadline: DeadlineRecord) -> None:
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
