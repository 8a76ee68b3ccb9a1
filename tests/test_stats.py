"""Supervision figures computed in the database, on stage rows written directly."""

from datetime import date, datetime, timedelta

import pytest

from models import (
    Case,
    ExtensionRequest,
    ProcessVersion,
    StageDeadline,
    TimelineEvent,
    User,
)
from service.database import Database
from service.reference import seed_reference_data
from service.stats import ZONE, Period, compute, percentile
from tests.conftest import BACKENDS, ScratchDatabase

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=ZONE)
NOW = MONDAY + timedelta(days=4, hours=2)  # Friday noon
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
H = timedelta(hours=1)


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    scratch = ScratchDatabase() if request.param == "postgresql" else None
    database = Database(scratch.url if scratch else f"sqlite:///{tmp_path}/stats.db")
    database.upgrade()
    with database.transaction() as session:
        seed_reference_data(session)
    yield database
    database.engine.dispose()
    if scratch:
        scratch.drop()


class Cases:
    """Writes cases, their stage rows and timeline straight into the tables."""

    def __init__(self, session):
        self.session = session
        self.reporter = User(name="deputy", role="reporter", token_hash="x" * 64)
        self.version = ProcessVersion(
            process_id="case_loop",
            version=1,
            content_hash="0" * 64,
            spec_json="{}",
            files={},
            deployed_at=MONDAY,
            deployed_by="test",
        )
        session.add_all([self.reporter, self.version])
        session.flush()

    def add(self, number, created, status="handling", department=None, **fields):
        case = Case(
            number=number,
            status=status,
            department_code=department,
            category_code=fields.pop("category", None),
            description=number,
            reporter_id=self.reporter.id,
            created_at=created,
            process_version_id=self.version.id,
            instance="",
            **fields,
        )
        self.session.add(case)
        self.session.flush()
        return case

    def stage(self, case, stage, started, due, closed=None, paused=0.0):
        row = StageDeadline(
            case_id=case.id,
            stage=stage,
            limit="4 hours",
            started_at=started,
            due_at=due,
            supervise_at=due + 4 * H,
            paused_seconds=paused,
            closed_at=closed,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def events(self, case, *actions):
        for action in actions:
            self.session.add(
                TimelineEvent(
                    case_id=case.id, at=case.created_at, actor="t", action=action
                )
            )

    def extension(self, case, row, until, approved=True):
        self.session.add(
            ExtensionRequest(
                case_id=case.id,
                deadline_id=row.id,
                requested_by="liaison",
                reason="parts on order",
                until=until,
                requested_at=row.started_at,
                approved=approved,
            )
        )


@pytest.fixture
def week(db):
    """Seven cases reported in one week, and one before it."""
    with db.transaction() as session:
        cases = Cases(session)
        a = cases.add("A", MONDAY, "closed", "water", closed_at=MONDAY + 23 * H)
        cases.stage(a, "triage", MONDAY, MONDAY + 2 * H, MONDAY + H)
        cases.stage(a, "handling", MONDAY + H, MONDAY + 24 * H, MONDAY + 21 * H)
        cases.stage(a, "confirming", MONDAY + 21 * H, MONDAY + 93 * H, MONDAY + 23 * H)
        cases.events(a, "handled", "confirmed")

        b = cases.add("B", MONDAY, "closed", "water", closed_at=MONDAY + 48 * H)
        cases.stage(b, "handling", MONDAY, MONDAY + 4 * H, MONDAY + 11 * H, 3600)
        cases.events(b, "handled", "disputed", "handled", "confirmed")

        tuesday = MONDAY + 24 * H
        c = cases.add("C", tuesday, "handling", "housing")
        cases.stage(c, "handling", tuesday, tuesday + 4 * H)
        cases.events(c, "returned")

        d = cases.add("D", tuesday, "handling", "housing")
        late = cases.stage(d, "handling", tuesday, tuesday + 4 * H)
        cases.extension(d, late, NOW + 48 * H)

        e = cases.add("E", tuesday, "handling", "housing")
        cases.stage(e, "handling", tuesday, NOW + 24 * H)

        cases.add("G", tuesday, "rejected", None, closed_at=tuesday + H)

        h = cases.add(
            "H", tuesday, "closed", "city-management", closed_at=tuesday + 30 * H
        )
        moved = cases.stage(h, "handling", tuesday, tuesday + 4 * H, tuesday + 20 * H)
        cases.extension(h, moved, tuesday + 24 * H)
        cases.events(h, "handled", "confirmed")

        before = cases.add("F", MONDAY - 48 * H, "closed", "water")
        cases.stage(before, "handling", before.created_at, MONDAY, MONDAY + 5 * H)
    return db


def test_week_totals_follow_the_rate_definitions(week):
    with week.transaction() as session:
        report = compute(session, WEEK, "department", now=NOW)

    totals = report.totals
    assert (totals.received, totals.closed) == (7, 3)
    # Due: the three closed, C late and D deferred by its approved extension.
    assert (totals.due, totals.deferred, totals.on_time) == (5, 1, 2)
    assert totals.on_time_rate == pytest.approx(2 / 4)
    assert totals.closure_rate == pytest.approx(3 / 7)
    assert totals.fixed_quickly == 1
    assert totals.quick_rate == pytest.approx(1 / 7)
    assert (totals.handled, totals.disputed) == (4, 1)
    assert totals.rework_rate == pytest.approx(1 / 4)
    assert totals.returns == 1
    assert totals.satisfaction == pytest.approx(3 / 4)


def test_stage_times_subtract_pauses_and_give_the_90th_percentile(week):
    with week.transaction() as session:
        report = compute(session, WEEK, "department", now=NOW)

    handling = report.totals.stages["handling"]
    hours = [20.0, 10.0, 20.0]  # A, B less its paused hour, H
    assert handling.count == 3
    assert handling.mean_hours == pytest.approx(sum(hours) / 3)
    assert handling.p90_hours == pytest.approx(20.0)
    assert report.totals.stages["triage"].mean_hours == pytest.approx(1.0)
    assert report.totals.stages["confirming"].count == 1


def test_groups_by_department_with_labels(week):
    with week.transaction() as session:
        report = compute(session, WEEK, "department", now=NOW)

    by_key = {f.key: f for f in report.groups}
    assert set(by_key) == {"water", "housing", "city-management", None}
    water = by_key["water"]
    assert (water.received, water.closed, water.on_time) == (2, 2, 1)
    assert water.on_time_rate == pytest.approx(0.5)
    assert water.label == "水务 Water affairs"
    housing = by_key["housing"]
    assert (housing.received, housing.due, housing.deferred) == (3, 2, 1)
    assert housing.on_time_rate == 0.0
    assert by_key[None].label.startswith("未分派")
    assert by_key["city-management"].on_time_rate == 1.0


def test_a_short_quick_limit_counts_fewer_cases_fixed_at_once(week):
    with week.transaction() as session:
        report = compute(session, WEEK, "category", quick_hours=12, now=NOW)

    assert report.totals.fixed_quickly == 0
    assert report.groups[0].label.startswith("未分类")


def test_a_period_without_cases_has_no_rates(week):
    with week.transaction() as session:
        report = compute(
            session, Period(date(2025, 1, 1), date(2025, 1, 7)), "street", now=NOW
        )

    assert report.groups == []
    assert report.totals.received == 0
    assert report.totals.on_time_rate is None
    assert report.totals.stages["handling"].p90_hours is None


def test_percentile_interpolates_between_ranks():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)
