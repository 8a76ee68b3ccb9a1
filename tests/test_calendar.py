"""Working time on the mainland-China calendar, and policies read from YAML."""

from datetime import UTC, date, datetime, time
from types import SimpleNamespace

import pytest

from service.calendar import WorkingCalendar
from service.policy import Policy, StageLimit
from workflows.errors import Invalid

SHANGHAI = WorkingCalendar().zone


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def calendar():
    return WorkingCalendar(day_start=time(9), day_end=time(18))


def test_working_hours_skip_the_night(calendar):
    assert calendar.add(local(2026, 12, 3, 17), 2, "working_hours") == local(
        2026, 12, 4, 10
    )


def test_working_hours_skip_the_weekend(calendar):
    friday_evening = local(2026, 12, 4, 17)

    assert calendar.add(friday_evening, 2, "working_hours") == local(2026, 12, 7, 10)


def test_working_hours_skip_the_national_day_holidays(calendar):
    # 1 to 7 October 2026 are days off; the 8th is a working day.
    assert calendar.add(local(2026, 9, 30, 17), 2, "working_hours") == local(
        2026, 10, 8, 10
    )


def test_made_up_weekend_workday_counts(calendar):
    # Saturday 10 October 2026 is worked in exchange for the holiday (调休).
    assert calendar.is_workday(date(2026, 10, 10))
    assert calendar.add(local(2026, 10, 9, 17), 2, "working_hours") == local(
        2026, 10, 10, 10
    )


def test_spring_festival_is_off(calendar):
    assert not calendar.is_workday(date(2026, 2, 17))


def test_local_days_override_the_official_calendar():
    typhoon_day = date(2026, 12, 7)
    calendar = WorkingCalendar(local_days={typhoon_day: False})

    assert not calendar.is_workday(typhoon_day)
    assert calendar.add(local(2026, 12, 4, 17), 2, "working_hours") == local(
        2026, 12, 8, 10
    )


def test_working_days_are_whole_office_days(calendar):
    assert calendar.add(local(2026, 12, 3, 10), 1, "working_days") == local(
        2026, 12, 4, 10
    )


def test_plain_hours_ignore_the_calendar(calendar):
    saturday = local(2026, 12, 5, 23)

    assert calendar.add(saturday, 2, "hours") == local(2026, 12, 6, 1)


def test_working_seconds_between_two_moments(calendar):
    friday = local(2026, 12, 4, 17)
    monday = local(2026, 12, 7, 10)

    assert calendar.working_seconds(friday, monday) == 2 * 3600


def test_results_keep_the_callers_time_zone(calendar):
    start = datetime(2026, 12, 3, 9, tzinfo=UTC)  # 17:00 in Shanghai

    assert calendar.add(start, 2, "working_hours").tzinfo == UTC


def test_policy_yaml_overrides_what_it_names(tmp_path):
    base = Policy(limits={"noise": {"triage": StageLimit(4, "working_hours")}})
    path = tmp_path / "policy.yaml"
    path.write_text(
        "supervision_factor: 3\n"
        "categories:\n  noise:\n    handling: 2 working_days\n"
        "common_problem:\n  radius_m: 150\n"
    )

    policy = Policy.from_yaml(path, base=base)

    assert policy.limit("noise", "triage") == StageLimit(4, "working_hours")
    assert policy.limit("noise", "handling") == StageLimit(2, "working_days")
    assert policy.supervision_factor == 3
    assert policy.grouping.radius_m == 150


@pytest.mark.parametrize(
    "text",
    [
        "categories:\n  noise:\n    handling: soon\n",
        "categories:\n  x:\n    lunch: 2\n",
    ],
)
def test_bad_policy_yaml_names_the_problem(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(text)

    with pytest.raises(Invalid):
        Policy.from_yaml(path)


def test_a_limit_stored_past_a_year_counts_as_the_longest():
    stored = SimpleNamespace(
        code="noise",
        triage_hours=float("inf"),
        triage_unit="hours",
        handling_hours=1e15,
        handling_unit="working_hours",
        confirm_hours=72,
        confirm_unit="hours",
    )

    policy = Policy.from_categories([stored])

    assert policy.limit("noise", "triage") == StageLimit(24 * 366, "hours")
    assert policy.limit("noise", "handling") == StageLimit(24 * 366, "working_hours")
    assert policy.limit("noise", "confirming") == StageLimit(72, "hours")
