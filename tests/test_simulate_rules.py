"""The ladder's rules replayed on a simulated clock, and reading hotline exports."""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from service.calendar import WorkingCalendar
from service.ladder_rules import CaseHistory, Visit, distance_m, due_at, replay
from service.policy import GroupingRule, Policy, StageLimit
from service.simulation import (
    SimulationError,
    category_of,
    load_policy,
    parse_timestamp,
    read_hotline_csv,
)

CALENDAR = WorkingCalendar()
ZONE = CALENDAR.zone
H = timedelta(hours=1)
# Tuesday 2026-03-03, 09:00 in the district: an ordinary working day.
TUESDAY = datetime(2026, 3, 3, 9, 0, tzinfo=ZONE)
UNTIL = TUESDAY + 30 * 24 * H
LIMITS = {
    "triage": StageLimit(2, "working_hours"),
    "handling": StageLimit(4, "working_hours"),
    "confirming": StageLimit(72, "hours"),
}
POLICY = Policy(
    limits={"noise": LIMITS, "other": LIMITS},
    grouping=GroupingRule(radius_m=300, window_hours=72, min_cases=3),
)
# Three points some 100 m apart, and one 5 km away.
NEAR = [(22.5400, 114.0500), (22.5409, 114.0500), (22.5400, 114.0509)]
FAR = (22.5850, 114.0500)


def handled(key, start, hours, category="noise", where=NEAR[0], **fields):
    end = None if hours is None else start + hours * H
    return CaseHistory(
        key=key,
        category=category,
        department=fields.pop("department", "city-management"),
        created_at=start,
        visits=(Visit("handling", start, end, fields.pop("paused", 0.0)),),
        lat=where[0] if where else None,
        lng=where[1] if where else None,
        **fields,
    )


def levels(cases, policy=POLICY, until=UNTIL):
    outcomes, _groups = replay(cases, policy, CALENDAR, until)
    return {key: outcome.level for key, outcome in outcomes.items()}


def grouped(cases):
    outcomes, _groups = replay(cases, POLICY, CALENDAR, UNTIL)
    return {key: outcome.grouped for key, outcome in outcomes.items()}


def test_a_stage_done_within_its_limit_reaches_no_level():
    assert levels([handled("A", TUESDAY, 3)]) == {"A": 0}


def test_a_stage_done_after_its_limit_is_a_reminder():
    assert levels([handled("A", TUESDAY, 5)]) == {"A": 1}


def test_a_stage_still_open_past_its_limit_is_a_reminder_at_the_end():
    case = handled("A", TUESDAY, None)
    assert levels([case], until=TUESDAY + 3 * H) == {"A": 0}
    assert levels([case], until=TUESDAY + 5 * H) == {"A": 1}


def test_twice_the_limit_reaches_supervision():
    # 4 working hours from 09:00 is 13:00; twice that ends the working day at 17:00.
    assert levels([handled("A", TUESDAY, 7.5)]) == {"A": 1}
    assert levels([handled("A", TUESDAY, 8.5)]) == {"A": 3}


def test_working_hours_stop_over_the_weekend():
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=ZONE)
    assert due_at(POLICY, CALENDAR, "noise", "handling", friday) == datetime(
        2026, 3, 9, 11, 0, tzinfo=ZONE
    )
    # Closed on Monday morning, 66 plain hours later: still within the limit.
    assert levels([handled("A", friday, 66)]) == {"A": 0}


def test_paused_time_moves_the_deadline():
    assert levels([handled("A", TUESDAY, 5, paused=2 * 3600)]) == {"A": 0}


def test_unknown_categories_take_the_limits_of_other():
    assert levels([handled("A", TUESDAY, 5, category="potholes")]) == {"A": 1}


def test_the_third_return_reaches_supervision():
    case = handled("A", TUESDAY, 1, returns=3)
    assert levels([case]) == {"A": 3}


def test_late_cases_close_together_count_as_one_common_problem():
    cases = [
        handled(f"N{i}", TUESDAY + i * H, 7, where=where)
        for i, where in enumerate(NEAR)
    ]
    outcomes, groups = replay(cases, POLICY, CALENDAR, UNTIL)

    # Seven hours on a four-hour limit is late but short of supervision.
    assert {o.level for o in outcomes.values()} == {2}
    assert len(groups) == 1
    assert sorted(groups[0].members) == ["N0", "N1", "N2"]


def test_too_few_far_apart_or_unlike_cases_stay_reminders():
    two = [handled("N0", TUESDAY, 6), handled("N1", TUESDAY, 6, where=NEAR[1])]
    assert levels(two) == {"N0": 1, "N1": 1}

    far = [*two, handled("F", TUESDAY, 6, where=FAR)]
    assert levels(far) == {"N0": 1, "N1": 1, "F": 1}

    unlike = [*two, handled("O", TUESDAY, 6, category="other", where=NEAR[2])]
    assert levels(unlike) == {"N0": 1, "N1": 1, "O": 1}

    nowhere = [*two, handled("X", TUESDAY, 6, where=None)]
    assert levels(nowhere)["X"] == 1


def test_cases_reported_further_apart_than_the_window_are_not_grouped():
    week = 7 * 24 * H
    cases = [
        handled("N0", TUESDAY, None),
        handled("N1", TUESDAY, None, where=NEAR[1]),
        handled("N2", TUESDAY + week, None, where=NEAR[2]),
    ]
    assert grouped(cases) == {"N0": False, "N1": False, "N2": False}


def test_a_case_closed_before_the_others_are_late_is_not_grouped_with_them():
    cases = [
        handled("N0", TUESDAY, 5),  # late at 13:00, closed at 14:00
        handled("N1", TUESDAY + 24 * H, 6, where=NEAR[1]),
        handled("N2", TUESDAY + 24 * H, 6, where=NEAR[2]),
    ]
    assert levels(cases) == {"N0": 1, "N1": 1, "N2": 1}


def test_a_later_late_case_joins_an_open_common_problem():
    cases = [
        handled(f"N{i}", TUESDAY, None, where=where) for i, where in enumerate(NEAR)
    ]
    cases.append(handled("N3", TUESDAY + 24 * H, None, where=(22.5405, 114.0505)))
    outcomes, groups = replay(cases, POLICY, CALENDAR, UNTIL)

    assert len(groups) == 1
    assert outcomes["N3"].grouped and outcomes["N3"].group == groups[0].id


def test_distance_is_great_circle_metres():
    assert distance_m(*NEAR[0], *NEAR[1]) == pytest.approx(100, abs=1)
    assert distance_m(*NEAR[0], *FAR) == pytest.approx(5004, abs=5)


# Reading hotline exports


@pytest.mark.parametrize(
    "text",
    [
        "2022-01-21 13:47:00",
        "2022-01-21T13:47:00.000",
        "01/21/2022 01:47:00 PM",
        "2022/01/21 13:47:00",
    ],
)
def test_timestamps_in_several_styles_are_read_in_the_given_zone(text):
    assert parse_timestamp(text, ZONE) == datetime(2022, 1, 21, 13, 47, tzinfo=ZONE)


def test_blank_or_unreadable_timestamps_are_none():
    assert parse_timestamp(" ", ZONE) is None
    assert parse_timestamp("soon", ZONE) is None


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("Noise - Residential", "noise"),
        ("Illegal Parking", "traffic-congestion"),
        ("Request for Pothole Repair", "municipal-facilities"),
        ("Missed Trash/Recycling/Yard Waste/Bulk Item", "garbage-sorting"),
        ("Graffiti Removal", "city-appearance"),
        ("Sewer", "water-environment"),
        ("Abandoned Bike", "shared-bikes"),
        ("HEAT/HOT WATER", "other"),
        ("", "other"),
    ],
)
def test_request_types_map_to_categories(kind, category):
    assert category_of(kind) == category


def test_a_hotline_export_with_blank_places_and_multiline_fields_is_read(tmp_path):
    export = tmp_path / "hotline.csv"
    export.write_text(
        "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Latitude,Longitude,"
        "Location\n"
        '1,2024-04-16T03:03:15.000,,DOT,Street Condition,40.67,-73.73,"\n,  \n(x)"\n'
        "2,04/15/2024 11:00:00 PM,04/16/2024 01:00:00 AM,NYPD,Noise, , ,\n"
        "3,not a time,,NYPD,Noise,,,\n",
        encoding="utf-8",
    )
    source = read_hotline_csv(export, ZONE)

    first, second = source.cases
    assert (first.key, first.category, first.department) == (
        "1",
        "municipal-facilities",
        "DOT",
    )
    assert (first.lat, first.lng) == (40.67, -73.73)
    assert first.visits[0].end is None
    assert (second.lat, second.lng) == (None, None)
    assert second.visits[0].end - second.visits[0].start == 2 * H
    assert source.skipped == 1
    assert source.until == datetime(2024, 4, 16, 3, 3, 15, tzinfo=ZONE)


def test_a_hotline_export_filtered_to_a_period(tmp_path):
    export = tmp_path / "hotline.csv"
    export.write_text(
        "open_dt,closed_dt,type,department\n"
        "2022-01-01 10:00:00,,Graffiti,PWDx\n"
        "2022-01-05 10:00:00,,Graffiti,PWDx\n",
        encoding="utf-8",
    )
    source = read_hotline_csv(
        export, ZONE, since=date(2022, 1, 2), before=date(2022, 1, 9)
    )
    assert [c.created_at.day for c in source.cases] == [5]
    assert source.until == datetime(2022, 1, 10, tzinfo=ZONE)


def test_an_export_without_an_opening_time_is_refused(tmp_path):
    export = tmp_path / "hotline.csv"
    export.write_text("id,type\n1,Graffiti\n", encoding="utf-8")
    with pytest.raises(SimulationError, match="no opening-time column"):
        read_hotline_csv(export, ZONE)


# Policy files


def policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_policy_file_overrides_only_what_it_names(tmp_path):
    path = policy_file(
        tmp_path,
        "categories:\n  noise:\n    handling: 1 working_days\n"
        "supervision_factor: 1.5\ncommon_problem:\n  radius_m: 500\n",
    )
    policy = load_policy(path, base=POLICY)

    assert policy.limit("noise", "handling") == StageLimit(1, "working_days")
    assert policy.limit("noise", "triage") == LIMITS["triage"]
    assert policy.supervision_factor == 1.5
    assert policy.grouping == GroupingRule(500, 72, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("categories: [noise]\n", "'categories' maps"),
        ("- 1\n- 2\n", "a policy is a mapping"),
        ("supervison_factor: 2\n", "unknown key 'supervison_factor'"),
        ("1: 2\na: 3\n", "unknown key '1'"),
        ("common_problem:\n  window_hours: .inf\n", "window_hours must be finite"),
        ("supervision_factor: fast\n", "supervision_factor must be a positive number"),
        ("supervision_factor: 0.5\n", "at least 1"),
        ("common_problem:\n  radius: 5\n", "unknown key common_problem.radius"),
        ("common_problem:\n  min_cases: -1\n", "min_cases must be a positive"),
        ("categories:\n  noise:\n    handling: 4 weeks\n", "unknown time unit 'weeks'"),
        ("categories:\n  noise:\n    fixing: 4 hours\n", "unknown stage 'fixing'"),
        ("categories:\n  noise:\n    handling: soon\n", "not a time limit"),
        ("categories:\n  potholes:\n    handling: 4 hours\n", "missing triage"),
        ("categories: {noise: [1\n", "not valid YAML"),
    ],
)
def test_a_bad_policy_file_is_refused_with_a_message_naming_the_fault(
    tmp_path, text, message
):
    with pytest.raises(SimulationError, match=message):
        load_policy(policy_file(tmp_path, text), base=POLICY)


def test_a_policy_file_that_is_not_text_is_refused(tmp_path):
    binary = tmp_path / "policy.yaml"
    binary.write_bytes(bytes(range(128, 256)))

    with pytest.raises(SimulationError, match="not UTF-8 text"):
        load_policy(binary, base=POLICY)
