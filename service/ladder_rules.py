"""The deadline and escalation rules as pure functions, replayed on a simulated clock.

No database and no Flask here: stage visits go in, the level each case would reach
comes out. The simulation uses it to compare policies; the live ladder may use the
same functions for its deadlines and distances.
"""

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.calendar import WorkingCalendar
from service.policy import Policy

# Stages whose lateness escalates; the reporter's confirmation is timed, not escalated.
ESCALATING_STAGES = ("triage", "handling")
REMINDER, SUGGESTION, SUPERVISION = 1, 2, 3
EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True)
class Visit:
    """One stay of a case in a stage; `end` is None while it is still there."""

    stage: str
    start: datetime
    end: datetime | None = None
    paused_seconds: float = 0.0


@dataclass(frozen=True)
class CaseHistory:
    """What a replay needs of a case: where, what kind, who handles it, its visits."""

    key: str
    category: str | None
    department: str | None
    created_at: datetime
    visits: tuple[Visit, ...]
    lat: float | None = None
    lng: float | None = None
    returns: int = 0


@dataclass
class Outcome:
    """What the ladder would have done to one case."""

    key: str
    department: str | None
    late: bool = False
    grouped: bool = False
    supervised: bool = False
    group: int | None = None

    @property
    def level(self) -> int:
        if self.supervised:
            return SUPERVISION
        if self.grouped:
            return SUGGESTION
        return REMINDER if self.late else 0


@dataclass
class CommonProblemReplay:
    """A common problem formed during a replay: its place and its member cases."""

    id: int
    category: str
    lat: float
    lng: float
    opened_at: datetime
    members: dict = field(default_factory=dict)  # case key -> end of its late visit

    def open_at(self, moment: datetime) -> bool:
        return any(end is None or end > moment for end in self.members.values())


def distance_m(a_lat: float, a_lng: float, b_lat: float, b_lng: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(a_lat), math.radians(b_lat)
    dphi, dlmb = phi2 - phi1, math.radians(b_lng - a_lng)
    h = (
        math.sin(dphi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def due_at(
    policy: Policy,
    calendar: WorkingCalendar,
    category: str | None,
    stage: str,
    start: datetime,
) -> datetime:
    """When a stage started at `start` is due under the policy."""
    limit = policy.limit(category, stage)
    return calendar.add(start, limit.amount, limit.unit)


def supervise_at(
    policy: Policy,
    calendar: WorkingCalendar,
    category: str | None,
    stage: str,
    start: datetime,
) -> datetime:
    """When a stage still not done reaches supervision: the limit times the factor."""
    limit = policy.limit(category, stage)
    return calendar.add(start, limit.amount * policy.supervision_factor, limit.unit)


@dataclass(frozen=True)
class _Lateness:
    case: CaseHistory
    late_at: datetime
    end: datetime | None


def replay(
    cases: list[CaseHistory],
    policy: Policy,
    calendar: WorkingCalendar,
    until: datetime,
    progress=None,
) -> tuple[dict[str, Outcome], list[CommonProblemReplay]]:
    """The outcome of every case, and the common problems, as of `until`.

    A visit is late when it ends after its due time, or is still open past it at
    `until`; it reaches supervision past the limit times `supervision_factor`.
    Paused time (`paused_seconds`, working seconds for working-time limits, as the
    deadline rows keep it) moves both moments later. `progress(n)` is called per case.
    """
    outcomes: dict[str, Outcome] = {}
    lateness: list[_Lateness] = []
    for case in cases:
        outcome = Outcome(case.key, case.department)
        outcomes[case.key] = outcome
        rule = policy.supervision_on_return
        if rule and case.returns >= rule:
            outcome.supervised = True
        for visit in case.visits:
            late = _judge(case, visit, policy, calendar, until, outcome)
            if late is not None:
                lateness.append(late)
        if progress is not None:
            progress(1)

    groups = _group(lateness, policy, outcomes)
    return outcomes, groups


def _judge(case, visit, policy, calendar, until, outcome) -> _Lateness | None:
    """Mark the outcome late or supervised for one visit; the lateness, if any."""
    if visit.stage not in ESCALATING_STAGES or visit.start >= until:
        return None
    end = visit.end if visit.end is not None and visit.end <= until else None
    finish = end or until
    unit = policy.limit(case.category, visit.stage).unit
    due = due_at(policy, calendar, case.category, visit.stage, visit.start)
    due = later(calendar, due, visit.paused_seconds, unit)
    if finish <= due:
        return None

    outcome.late = True
    supervise = supervise_at(policy, calendar, case.category, visit.stage, visit.start)
    if finish > later(calendar, supervise, visit.paused_seconds, unit):
        outcome.supervised = True
    return _Lateness(case, due, end)


def later(
    calendar: WorkingCalendar, moment: datetime, paused_seconds: float, unit: str
) -> datetime:
    """A deadline moved by paused time, counted as the limit's unit counts time."""
    if not paused_seconds:
        return moment
    if unit == "hours":
        return moment + timedelta(seconds=paused_seconds)
    return calendar.add(moment, paused_seconds / 3600, "working_hours")


def _group(lateness, policy, outcomes) -> list[CommonProblemReplay]:
    """Replay the late moments in order, grouping late cases as the ladder would.

    At the moment a case becomes late it joins an open common problem of its
    category within the radius of the problem's centre; otherwise, when at least
    `min_cases` late, still open cases of its category (itself included) lie within
    the radius of it and were reported within the window of it, they form one.
    """
    rule = policy.grouping
    window = timedelta(hours=rule.window_hours)
    groups: list[CommonProblemReplay] = []
    open_late: dict[str, list[_Lateness]] = {}

    for late in sorted(lateness, key=lambda item: (item.late_at, item.case.key)):
        case, now = late.case, late.late_at
        if case.lat is None or case.lng is None or case.category is None:
            continue
        active = [
            other
            for other in open_late.get(case.category, [])
            if other.end is None or other.end > now
        ]
        open_late[case.category] = [*active, late]

        group = next(
            (
                g
                for g in groups
                if g.category == case.category
                and g.open_at(now)
                and distance_m(g.lat, g.lng, case.lat, case.lng) <= rule.radius_m
            ),
            None,
        )
        if group is None:
            group = _new_group(late, active, rule, window, len(groups) + 1)
            if group is None:
                continue
            groups.append(group)
        group.members[case.key] = late.end
        for key in group.members:
            outcomes[key].grouped = True
            outcomes[key].group = outcomes[key].group or group.id
    return groups


def _new_group(late, active, rule, window, number) -> CommonProblemReplay | None:
    case = late.case
    reported = sorted(active, key=lambda other: other.case.created_at)
    moments = [other.case.created_at for other in reported]
    low = bisect.bisect_left(moments, case.created_at - window)
    high = bisect.bisect_right(moments, case.created_at + window)
    neighbours = {
        other.case.key: other
        for other in reported[low:high]
        if other.case.key != case.key
        and distance_m(other.case.lat, other.case.lng, case.lat, case.lng)
        <= rule.radius_m
    }
    if len(neighbours) + 1 < rule.min_cases:
        return None

    members = [late, *neighbours.values()]
    return CommonProblemReplay(
        id=number,
        category=case.category,
        lat=sum(m.case.lat for m in members) / len(members),
        lng=sum(m.case.lng for m in members) / len(members),
        opened_at=late.late_at,
        members={m.case.key: m.end for m in members},
    )
