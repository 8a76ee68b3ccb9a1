"""What-if: replay past cases through the current and a new policy, by department.

Cases come from the database (their stage visits) or from a 311 / 12345-style hotline
export (one handling visit per row, from opening to closing). The rules themselves
are in `service.ladder_rules`.
"""

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, HumanTaskRow, StageDeadline
from service import charts
from service.calendar import UNITS, WorkingCalendar
from service.ladder_rules import CaseHistory, Visit, replay
from service.policy import STAGES, Policy
from workflows.clock import clock
from workflows.errors import Invalid

UNASSIGNED = "(unassigned)"
DEFAULT_CATEGORY = "other"

# How a hotline's request type becomes one of our categories: the first rule with a
# word starting a word of the type (case-insensitive) wins; no match means 'other'.
# Housing complaints inside buildings (heat, leaks, plumbing, paint) stay 'other' on
# purpose: no street department handles them.
CATEGORY_RULES = (
    ("noise", "noise|loud"),
    ("shared-bikes", "bike|bicycle"),
    (
        "water-environment",
        "sewer|drain|catch basin|hydrant|flood|standing water|water system|"
        "water quality|river",
    ),
    (
        "garbage-sorting",
        "trash|garbage|recycl|litter|bulk item|dumping|disposal|sanitation|"
        "collection|waste",
    ),
    (
        "traffic-congestion",
        "parking|driveway|traffic|vehicle|obstruction|taxi|for hire",
    ),
    (
        "city-appearance",
        "graffiti|street cleaning|dirty|dead animal|needle|encampment|vendor|poster|"
        "snow|poor conditions of property",
    ),
    (
        "municipal-facilities",
        "pothole|street condition|sidewalk|curb|street light|lighting|knockdown|sign|"
        "manhole|tree|maintenance|park|highway|bench|fence",
    ),
)

# Column names a hotline export may use for each field, compared lower-cased with
# spaces as underscores; the first one present is read.
COLUMNS = {
    "id": "unique_key|case_enquiry_id|service_request_id|request_id|case_id|id",
    "opened": "open_dt|created_date|requested_datetime|created_at|open_date|opened|"
    "date_opened|received_at",
    "closed": "closed_dt|closed_date|closed_at|close_date|closed|date_closed",
    "kind": "complaint_type|type|service_name|request_type|category|problem",
    "detail": "descriptor|reason",
    "department": "agency|department|agency_responsible|responsible_agency|agency_name",
    "lat": "latitude|lat",
    "lng": "longitude|long|lng|lon",
}

_CATEGORY_PATTERNS = [
    (category, re.compile(rf"\b(?:{words})")) for category, words in CATEGORY_RULES
]
_TIMESTAMP_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S",
    "%Y%m%d%H%M%S",
)
POLICY_KEYS = (
    "categories",
    "supervision_factor",
    "supervision_on_return",
    "common_problem",
)
GROUPING_KEYS = ("radius_m", "window_hours", "min_cases")


class SimulationError(Invalid):
    """A policy file or a hotline export the simulation cannot use."""


def category_of(kind: str | None, detail: str | None = None) -> str:
    """Our category for a hotline request type, by CATEGORY_RULES; else 'other'."""
    for text in (kind, detail):
        lowered = (text or "").lower()
        if not lowered.strip():
            continue
        for category, pattern in _CATEGORY_PATTERNS:
            if pattern.search(lowered):
                return category
    return DEFAULT_CATEGORY


def parse_timestamp(text: str | None, zone: ZoneInfo) -> datetime | None:
    """A moment from the styles hotline exports use; naive ones are read in `zone`."""
    text = (text or "").strip()
    if not text:
        return None
    moment = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for style in _TIMESTAMP_FORMATS:
            try:
                moment = datetime.strptime(text, style)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _coordinate(text: str | None, limit: float) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value == 0 or abs(value) > limit:
        return None
    return value


# Policies


def load_policy(path: Path, base: Policy) -> Policy:
    """A new policy from YAML over `base`, or an error naming what is wrong in it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SimulationError(
            f"cannot read the policy {path}: {error.strerror}"
        ) from error
    except UnicodeDecodeError as error:
        raise SimulationError(f"{path} is not UTF-8 text") from error
    except yaml.YAMLError as error:
        raise SimulationError(f"{path} is not valid YAML: {error}") from error
    _check_policy_shape(path, data if data is not None else {})

    try:
        policy = Policy.from_yaml(path, base=base)
    except Invalid as error:
        raise SimulationError(
            f"{path}: {error.message}", errors=error.errors
        ) from error
    for code, stages in policy.limits.items():
        missing = [stage for stage in STAGES if stage not in stages]
        if missing:
            raise SimulationError(
                f"{path}: category {code!r} is new, so it needs a limit for every "
                f"stage; missing {', '.join(missing)}"
            )
    return policy


def _check_policy_shape(path, data) -> None:
    """Refuse what Policy.from_yaml would stumble over, naming the key at fault."""
    if not isinstance(data, dict):
        raise SimulationError(
            f"{path}: a policy is a mapping of {', '.join(POLICY_KEYS)}"
        )
    unknown = sorted(str(key) for key in set(data) - set(POLICY_KEYS))
    if unknown:
        raise SimulationError(
            f"{path}: unknown key {unknown[0]!r}; a policy has {', '.join(POLICY_KEYS)}"
        )
    categories = data.get("categories") or {}
    if not isinstance(categories, dict):
        raise SimulationError(
            f"{path}: 'categories' maps a category code to its limits"
        )
    for code, stages in categories.items():
        limits = (stages or {}).values() if isinstance(stages, dict) else [None]
        if stages is not None and not all(_limit_like(v) for v in limits):
            raise SimulationError(
                f"{path}: categories.{code} maps stages ({', '.join(STAGES)}) to "
                f"limits like '4 working_hours' (units: {', '.join(UNITS)})"
            )
    if "supervision_factor" in data:
        factor = data["supervision_factor"]
        _positive(path, "supervision_factor", factor, minimum=1)
    if "supervision_on_return" in data:
        returns = data["supervision_on_return"]
        _positive(path, "supervision_on_return", returns)
        if not isinstance(returns, int):
            raise SimulationError(
                f"{path}: supervision_on_return counts returns, a whole number, "
                f"not {returns!r}"
            )
    grouping = data.get("common_problem") or {}
    if not isinstance(grouping, dict):
        raise SimulationError(
            f"{path}: 'common_problem' has {', '.join(GROUPING_KEYS)}"
        )
    for key, value in grouping.items():
        if key not in GROUPING_KEYS:
            raise SimulationError(
                f"{path}: unknown key common_problem.{key}; one of "
                f"{', '.join(GROUPING_KEYS)}"
            )
        _positive(path, f"common_problem.{key}", value)


def _limit_like(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _positive(path, name, value, minimum=0) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SimulationError(
            f"{path}: {name} must be a positive number, not {value!r}"
        )
    if not math.isfinite(value):
        raise SimulationError(f"{path}: {name} must be finite, not {value!r}")
    if value < minimum:
        raise SimulationError(
            f"{path}: {name} must be at least {minimum}, not {value!r}"
        )


# Sources


@dataclass
class Source:
    """The cases to replay, where they came from, and when the replay ends."""

    cases: list[CaseHistory]
    description: str
    until: datetime
    skipped: int = 0


def read_hotline_csv(
    path: Path,
    zone: ZoneInfo,
    since: date | None = None,
    before: date | None = None,
) -> Source:
    """One handling visit per request, from its opening to its closing (or open)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as file:
            reader = csv.DictReader(file)
            columns = _columns(path, reader.fieldnames or [])
            rows = list(reader)
    except OSError as error:
        raise SimulationError(f"cannot read {path}: {error.strerror}") from error
    except csv.Error as error:
        raise SimulationError(f"{path} is not a readable CSV file: {error}") from error

    start = _midnight(since, zone) if since else None
    end = _midnight(before + timedelta(days=1), zone) if before else None
    cases, skipped, latest = [], 0, None
    for number, row in enumerate(rows, start=2):
        case = _hotline_case(row, columns, zone, number)
        if case is None:
            skipped += 1
            continue
        if (start and case.created_at < start) or (end and case.created_at >= end):
            continue
        cases.append(case)
        moments = [case.created_at] + [v.end for v in case.visits if v.end]
        latest = max([latest, *moments] if latest else moments)
    until = end or latest or clock.now().astimezone(zone)
    return Source(cases, f"{path.name} ({len(cases)} requests)", until, skipped)


def _columns(path, fieldnames) -> dict:
    names = {re.sub(r"\s+", "_", name.strip().lower()): name for name in fieldnames}
    found = {
        field_name: next((names[a] for a in aliases.split("|") if a in names), None)
        for field_name, aliases in COLUMNS.items()
    }
    if found["opened"] is None:
        raise SimulationError(
            f"{path} has no opening-time column; one of "
            f"{COLUMNS['opened'].replace('|', ', ')} is needed"
        )
    return found


def _hotline_case(row, columns, zone, number) -> CaseHistory | None:
    def value(name):
        column = columns[name]
        return (row.get(column) or "").strip() if column else ""

    opened = parse_timestamp(value("opened"), zone)
    if opened is None:
        return None
    closed = parse_timestamp(value("closed"), zone)
    if closed is not None and closed < opened:
        closed = opened
    lat, lng = _coordinate(value("lat"), 90), _coordinate(value("lng"), 180)
    if lat is None or lng is None:
        lat = lng = None
    return CaseHistory(
        key=value("id") or f"row {number}",
        category=category_of(value("kind"), value("detail")),
        department=value("department") or UNASSIGNED,
        created_at=opened,
        visits=(Visit("handling", opened, closed),),
        lat=lat,
        lng=lng,
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def database_cases(session: Session, since: datetime, until: datetime) -> list:
    """Cases reported in [since, until) with their stage visits.

    Visits come from `stage_deadlines`; a case without such rows (reported before
    deadlines were kept) falls back to its triage and handle tasks.
    """
    cases = session.execute(
        select(
            Case.id,
            Case.number,
            Case.category_code,
            Case.department_code,
            Case.created_at,
            Case.lat,
            Case.lng,
            Case.return_count,
        )
        .where(Case.created_at >= since, Case.created_at < until)
        .order_by(Case.created_at, Case.id)
    ).all()
    ids = select(Case.id).where(Case.created_at >= since, Case.created_at < until)
    visits: dict[int, list[Visit]] = {}
    for row in session.execute(
        select(
            StageDeadline.case_id,
            StageDeadline.stage,
            StageDeadline.started_at,
            StageDeadline.closed_at,
            StageDeadline.paused_seconds,
        )
        .where(StageDeadline.case_id.in_(ids))
        .order_by(StageDeadline.id)
    ):
        visits.setdefault(row.case_id, []).append(
            Visit(row.stage, row.started_at, row.closed_at, row.paused_seconds or 0.0)
        )
    stage_of_task = {"triage": "triage", "handle": "handling"}
    fallback = session.execute(
        select(
            HumanTaskRow.case_id,
            HumanTaskRow.name,
            HumanTaskRow.created_at,
            HumanTaskRow.closed_at,
        )
        .where(
            HumanTaskRow.case_id.in_(ids),
            HumanTaskRow.name.in_(list(stage_of_task)),
            HumanTaskRow.case_id.not_in(select(StageDeadline.case_id)),
        )
        .order_by(HumanTaskRow.id)
    )
    for row in fallback:
        visits.setdefault(row.case_id, []).append(
            Visit(stage_of_task[row.name], row.created_at, row.closed_at)
        )
    return [
        CaseHistory(
            key=case.number or str(case.id),
            category=case.category_code,
            department=case.department_code or UNASSIGNED,
            created_at=case.created_at,
            visits=tuple(visits.get(case.id, ())),
            lat=case.lat,
            lng=case.lng,
            returns=case.return_count or 0,
        )
        for case in cases
    ]


# The comparison

LEVEL_COLUMNS = ("late", "level1", "level2", "level3")


@dataclass
class Comparison:
    """Counts per department under the current and the new policy."""

    cases: Counter = field(default_factory=Counter)
    current: dict = field(default_factory=dict)  # department -> Counter
    new: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)  # "current"/"new" -> common problems

    @property
    def departments(self) -> list[str]:
        return sorted(self.cases, key=lambda d: (d == UNASSIGNED, d))

    def total(self, which: str) -> Counter:
        total = Counter()
        for counts in getattr(self, which).values():
            total.update(counts)
        return total


def tally(outcomes) -> dict:
    """Per department: late cases, and cases at each level.

    Levels 1 and 2 split the late cases (a case in a common problem counts at
    level 2 instead of level 1); level 3 counts those that reached supervision.
    """
    counts: dict[str, Counter] = {}
    for outcome in outcomes.values():
        row = counts.setdefault(outcome.department or UNASSIGNED, Counter())
        row["late"] += outcome.late
        row["level1"] += outcome.late and not outcome.grouped
        row["level2"] += outcome.grouped
        row["level3"] += outcome.supervised
    return counts


def compare(
    cases: list[CaseHistory],
    current: Policy,
    new: Policy,
    calendar: WorkingCalendar,
    until: datetime,
    progress=None,
) -> Comparison:
    comparison = Comparison(Counter(c.department or UNASSIGNED for c in cases))
    for name, policy in (("current", current), ("new", new)):
        outcomes, groups = replay(cases, policy, calendar, until, progress)
        setattr(comparison, name, tally(outcomes))
        comparison.groups[name] = groups
    return comparison


def format_table(comparison: Comparison) -> str:
    """A plain-text table: cases, then late and levels under each policy."""
    width = max([len("department"), *(len(d) for d in comparison.departments)]) + 2
    heads = ("late", "L1", "L2", "L3")
    block = " ".join(f"{h:>6}" for h in heads)
    lines = [
        f"{'':{width}}{'':>7}   {'current policy':^27}   {'new policy':^27}",
        f"{'department':{width}}{'cases':>7}   {block}   {block}",
    ]

    def line(label, cases, current, new):
        left = " ".join(f"{current[c]:>6}" for c in LEVEL_COLUMNS)
        right = " ".join(f"{new[c]:>6}" for c in LEVEL_COLUMNS)
        return f"{label:{width}}{cases:>7}   {left}   {right}"

    for department in comparison.departments:
        lines.append(
            line(
                department,
                comparison.cases[department],
                comparison.current.get(department, Counter()),
                comparison.new.get(department, Counter()),
            )
        )
    lines.append("-" * len(lines[1]))
    lines.append(
        line(
            "total",
            sum(comparison.cases.values()),
            comparison.total("current"),
            comparison.total("new"),
        )
    )
    lines.append(
        f"common problems: {len(comparison.groups.get('current', []))} under the "
        f"current policy, {len(comparison.groups.get('new', []))} under the new one"
    )
    return "\n".join(lines)


def comparison_chart(comparison: Comparison, title: str) -> str:
    """An SVG chart: cases at each level by department, current beside new."""
    departments = comparison.departments
    series = []
    for level, (light, dark) in zip(
        ("level1", "level2", "level3"), charts.LEVEL_PAIRS, strict=True
    ):
        label = level.replace("level", "L")
        for which, colour in (("current", light), ("new", dark)):
            counts = getattr(comparison, which)
            series.append(
                charts.Series(
                    f"{label} {which}",
                    colour,
                    [counts.get(d, Counter())[level] for d in departments],
                )
            )
    return charts.bar_chart(title, departments, series, whole=True, unit="cases")
