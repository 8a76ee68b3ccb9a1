"""The figures supervisors are judged by, in a period: by department, category, street.

Every figure describes one cohort: the cases received (reported) in the period, as
they stand now. Counts are aggregated in SQL; the per-stage times, which need
percentiles, are computed here over the period's closed stage rows.
"""

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from models import (
    Case,
    Category,
    Department,
    ExtensionRequest,
    StageDeadline,
    TimelineEvent,
)
from service.calendar import WorkingCalendar
from service.ladder_rules import ESCALATING_STAGES
from service.sql_functions import seconds_between
from workflows.clock import clock
from workflows.errors import Invalid

ZONE: ZoneInfo = WorkingCalendar().zone
GROUPINGS = ("department", "category", "street")
STAGES = ("triage", "handling", "confirming")
OPEN_STATUSES = ("triage", "handling", "confirming")
# The deadlines a case must meet to count as closed on time (按期): its triage and
# handling stages. The reporter's confirmation is the reporter's time, not the
# department's, and an unanswered one closes the case at its limit by design.
ON_TIME_STAGES = ESCALATING_STAGES
DEFAULT_QUICK_HOURS = 24.0
DEFAULT_DAYS = 30
NO_KEY = {
    "department": "未分派 unassigned",
    "category": "未分类 unclassified",
    "street": "未知街道 no street",
}


@dataclass(frozen=True)
class Period:
    """Whole days, first to last inclusive, in the district's time zone."""

    first: date
    last: date

    def __post_init__(self):
        if self.last < self.first:
            raise Invalid(
                "the period ends before it starts",
                errors={"to": ["on or after 'from'"]},
            )

    @classmethod
    def ending(cls, last: date | None, days: int, first: date | None = None):
        """The `days` days up to `last` (default today), unless `first` is given."""
        last = last or today()
        return cls(first or last - timedelta(days=days - 1), last)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), ZONE)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), ZONE)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        return f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"


def today() -> date:
    return clock.now().astimezone(ZONE).date()


@dataclass
class StageTime:
    count: int = 0
    mean_hours: float | None = None
    p90_hours: float | None = None


@dataclass
class Figures:
    """The counts and rates of one group of cases (or of all of them)."""

    key: str | None
    label: str
    received: int = 0
    closed: int = 0
    due: int = 0
    deferred: int = 0
    on_time: int = 0
    fixed_quickly: int = 0
    handled: int = 0
    disputed: int = 0
    confirmed: int = 0
    returns: int = 0
    stages: dict = field(default_factory=dict)  # stage -> StageTime

    @property
    def on_time_rate(self) -> float | None:
        """按期结案率: closed within their limits ÷ (due to close − deferred)."""
        return _ratio(self.on_time, self.due - self.deferred)

    @property
    def closure_rate(self) -> float | None:
        """结案率: closed ÷ received."""
        return _ratio(self.closed, self.received)

    @property
    def quick_rate(self) -> float | None:
        """立即整改率: closed within the quick limit of being reported ÷ received."""
        return _ratio(self.fixed_quickly, self.received)

    @property
    def rework_rate(self) -> float | None:
        """返工率: results disputed ÷ results reported."""
        return _ratio(self.disputed, self.handled)

    @property
    def satisfaction(self) -> float | None:
        """满意率: confirmed ÷ (confirmed + disputed)."""
        return _ratio(self.confirmed, self.confirmed + self.disputed)

    def add(self, other: "Figures") -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


COUNTS = (
    "received",
    "closed",
    "due",
    "deferred",
    "on_time",
    "fixed_quickly",
    "handled",
    "disputed",
    "confirmed",
    "returns",
)


@dataclass
class StatsReport:
    period: Period
    by: str
    quick_hours: float
    generated_at: datetime
    totals: Figures
    groups: list[Figures]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def percentile(values: list[float], share: float) -> float | None:
    """The `share` quantile, interpolated between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return cuts[round(share * 100) - 1]


def compute(
    session: Session,
    period: Period,
    by: str = "department",
    quick_hours: float = DEFAULT_QUICK_HOURS,
    now: datetime | None = None,
) -> StatsReport:
    """The figures of the cases received in `period`, per group and in total."""
    if by not in GROUPINGS:
        raise Invalid(f"cannot group by {by!r}", errors={"by": list(GROUPINGS)})
    now = now or clock.now()
    key = _group_column(by)
    cohort = and_(Case.created_at >= period.start, Case.created_at < period.end)

    groups: dict[str | None, Figures] = {}

    def figures(group_key) -> Figures:
        if group_key not in groups:
            groups[group_key] = Figures(group_key, "")
        return groups[group_key]

    for row in session.execute(_case_counts(key, cohort, quick_hours, now)):
        found = figures(row.key)
        for name in ("received", "closed", "due", "deferred", "on_time"):
            setattr(found, name, int(getattr(row, name) or 0))
        found.fixed_quickly = int(row.fixed_quickly or 0)

    actions = {
        "handled": "handled",
        "disputed": "disputed",
        "confirmed": "confirmed",
        "returned": "returns",
    }
    acted = key
    if by == "department":
        # A return (退单) hands the case on: what a department did counts for it,
        # not for the one holding the case now. Events older than the field
        # fall back to the case's department.
        acted = func.coalesce(TimelineEvent.details["department"].as_string(), key)
    events = (
        select(acted.label("key"), TimelineEvent.action, func.count().label("n"))
        .join(Case, Case.id == TimelineEvent.case_id)
        .where(cohort, TimelineEvent.action.in_(list(actions)))
        .group_by(acted, TimelineEvent.action)
    )
    for row in session.execute(events):
        setattr(figures(row.key), actions[row.action], int(row.n))

    durations = _stage_durations(session, key, cohort)
    totals = Figures(None, "合计 total")
    for found in groups.values():
        totals.add(found)
        found.stages = _stage_times(durations.get(found.key, {}))
        found.label = _label(session, by, found.key)
    every: dict[str, list[float]] = {}
    for by_stage in durations.values():
        for stage, hours in by_stage.items():
            every.setdefault(stage, []).extend(hours)
    totals.stages = _stage_times(every)

    ordered = sorted(groups.values(), key=lambda f: (f.key is None, f.key or ""))
    return StatsReport(period, by, quick_hours, now, totals, ordered)


def _group_column(by: str):
    return {
        "department": Case.department_code,
        "category": Case.category_code,
        "street": Case.street,
    }[by]


def _case_counts(key, cohort, quick_hours, now):
    """One row per group: received, closed, due, deferred, on time, fixed quickly."""
    approved = (
        select(
            ExtensionRequest.deadline_id,
            func.max(ExtensionRequest.until).label("until"),
        )
        .where(ExtensionRequest.approved.is_(True))
        .group_by(ExtensionRequest.deadline_id)
        .subquery()
    )
    # An approved extension moves the deadline, whether or not the row was updated.
    due_at = case(
        (approved.c.until > StageDeadline.due_at, approved.c.until),
        else_=StageDeadline.due_at,
    )
    late = exists(
        select(StageDeadline.id)
        .outerjoin(approved, approved.c.deadline_id == StageDeadline.id)
        .where(
            StageDeadline.case_id == Case.id,
            StageDeadline.stage.in_(ON_TIME_STAGES),
            or_(
                and_(
                    StageDeadline.closed_at.is_not(None),
                    StageDeadline.closed_at > due_at,
                ),
                and_(StageDeadline.closed_at.is_(None), due_at < now),
            ),
        )
    )
    extended = exists(
        select(ExtensionRequest.id).where(
            ExtensionRequest.case_id == Case.id, ExtensionRequest.approved.is_(True)
        )
    )
    closed = Case.status == "closed"
    still_open = Case.status.in_(OPEN_STATUSES)
    quick = and_(
        closed, seconds_between(Case.created_at, Case.closed_at) <= quick_hours * 3600
    )

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    return (
        select(
            key.label("key"),
            func.count().label("received"),
            count(closed).label("closed"),
            count(or_(closed, and_(still_open, or_(late, extended)))).label("due"),
            count(and_(still_open, extended, ~late)).label("deferred"),
            count(and_(closed, ~late)).label("on_time"),
            count(quick).label("fixed_quickly"),
        )
        .where(cohort)
        .group_by(key)
    )


def _stage_durations(session, key, cohort) -> dict:
    """Hours each closed stage took, less its paused time: group -> stage -> hours."""
    rows = session.execute(
        select(
            key.label("key"),
            StageDeadline.stage,
            StageDeadline.started_at,
            StageDeadline.closed_at,
            StageDeadline.paused_seconds,
        )
        .join(Case, Case.id == StageDeadline.case_id)
        .where(cohort, StageDeadline.closed_at.is_not(None))
    )
    durations: dict = {}
    for row in rows:
        seconds = (row.closed_at - row.started_at).total_seconds()
        hours = max(0.0, seconds - (row.paused_seconds or 0.0)) / 3600
        durations.setdefault(row.key, {}).setdefault(row.stage, []).append(hours)
    return durations


def _stage_times(by_stage: dict) -> dict:
    times = {}
    for stage in STAGES:
        hours = by_stage.get(stage, [])
        times[stage] = StageTime(
            len(hours),
            statistics.fmean(hours) if hours else None,
            percentile(hours, 0.9),
        )
    return times


def _label(session, by, key) -> str:
    if key is None:
        return NO_KEY[by]
    model = {"department": Department, "category": Category}.get(by)
    row = session.get(model, key) if model else None
    return f"{row.name_zh} {row.name}" if row else key
