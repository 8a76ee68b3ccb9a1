"""Two service processes, each with its scheduler, on one database, racing on cases."""

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, Service, running_service
from tests.test_ladder import TIANHE, _common_problems, _dispatch, _report

CASES = 50
HOUR = 3600
FAST_SWEEPS = {"SUISHOUPAI_SWEEP_SECONDS": "0.2"}


@pytest.fixture(params=BACKENDS)
def two_services(request, tmp_path):
    """Two processes on one database, sharing photos and the test clock."""
    with running_service(tmp_path, request.param, settings=FAST_SWEEPS) as first:
        second = replace(first, port=Service(tmp_path).port, process=None)
        second.start()
        try:
            yield first, second
        finally:
            second.stop()
        second.assert_no_traceback()


def _race(calls):
    """Run the calls at once from many threads; answers in the order given."""
    random.shuffle(indexed := list(enumerate(calls)))
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = {index: pool.submit(call) for index, call in indexed}
    return [futures[index].result() for index in range(len(calls))]


def test_racing_operations_are_applied_once_each(two_services):
    first, second = two_services
    services = [first, second]

    def on(index):
        return services[index % 2]

    reports = _race(
        [
            lambda i=i: on(i).as_("deputy").report(category="shared-bikes")
            for i in range(CASES)
        ]
    )
    assert {r.status_code for r in reports} == {201}
    numbers = [r.json()["number"] for r in reports]
    triage = {t["case_number"]: t["id"] for t in first.as_("office").queue()}

    # Two people claim every triage task through different processes at once.
    claims = _race(
        [
            lambda n=n, s=s, who=who: s.as_(who).post(
                f"/api/v1/tasks/{triage[n]}/claim"
            )
            for n in numbers
            for s, who in ((first, "office"), (second, "admin"))
        ]
    )
    for pair in zip(claims[::2], claims[1::2], strict=True):
        assert sorted(r.status_code for r in pair) == [200, 409]
    holder = {
        n: "office" if office.status_code == 200 else "admin"
        for n, office in zip(numbers, claims[::2], strict=True)
    }

    # The holder completes twice, through both processes, while time passes.
    dispatch = {
        "decision": "dispatch",
        "category": "shared-bikes",
        "department": "traffic-police",
    }
    calls = [
        lambda n=n, s=s: s.as_(holder[n]).complete(triage[n], **dispatch)
        for n in numbers
        for s in services
    ]
    calls += [lambda s=s: s.advance_clock(0.75 * HOUR) for s in services * 2]
    dispatched = _race(calls)[: 2 * CASES]
    for pair in zip(dispatched[::2], dispatched[1::2], strict=True):
        assert sorted(r.status_code for r in pair) == [200, 409]

    # Every handling task is now late; the race decides which reach level 3.
    first.advance_clock(4.5 * HOUR)
    handle = {t["case_number"]: t["id"] for t in first.as_("traffic-liaison").queue()}
    assert set(handle) == set(numbers)
    calls = [
        lambda n=n, s=s: s.as_("traffic-liaison").complete(
            handle[n], photos=["hopper.jpg"], decision="done", result="Moved"
        )
        for n in numbers
        for s in services
    ]
    calls += [lambda s=s: s.advance_clock(1.5 * HOUR) for s in services * 3]
    handled = _race(calls)[: 2 * CASES]
    for pair in zip(handled[::2], handled[1::2], strict=True):
        assert sorted(r.status_code for r in pair) == [200, 409]

    confirm = {
        t["case_number"]: t["id"]
        for t in first.as_("deputy").queue("mine")
        if t["name"] == "confirm"
    }
    confirmed = _race(
        [
            lambda n=n, s=s: s.as_("deputy").complete(confirm[n], decision="satisfied")
            for n in numbers
            for s in services
        ]
    )
    for pair in zip(confirmed[::2], confirmed[1::2], strict=True):
        assert sorted(r.status_code for r in pair) == [200, 409]

    _assert_every_case_is_whole(first, numbers)


def test_racing_partner_callbacks_are_all_kept(two_services):
    first, second = two_services
    numbers = [
        first.as_("deputy").report(category="shared-bikes").json()["number"]
        for _ in range(10)
    ]
    office = first.as_("office")
    for number in numbers:
        task = office.task_of(number, "triage")
        office.complete(task["id"], decision="transfer", partner="bike-platform")

    # Every case gets four progress reports at once, through both processes.
    updates = _race(
        [
            lambda n=n, s=s, i=i: s.as_("bike-operator").post(
                f"/api/v1/partners/cases/{n}/updates",
                json={"status": "in_progress", "note": f"report {i}"},
            )
            for n in numbers
            for s in (first, second)
            for i in range(2)
        ]
    )

    assert {u.status_code for u in updates} == {200}
    for number in numbers:
        timeline = first.as_("supervisor").case(number)["timeline"]
        notes = sorted(e["note"] for e in timeline if e["action"] == "partner_update")
        assert notes == ["report 0", "report 0", "report 1", "report 1"]


def _assert_every_case_is_whole(service, numbers):
    supervisor = service.as_("supervisor")
    escalations = supervisor.get("/api/v1/escalations").json()
    raised = Counter((e["case_number"], e["stage"], e["level"]) for e in escalations)
    assert max(raised.values(), default=1) == 1, "an escalation fired twice"
    assert all(e["closed_at"] for e in escalations), "an escalation stayed open"
    assert any(e["stage"] == "handling" for e in escalations)

    for number in numbers:
        case = supervisor.case(number)
        actions = Counter(event["action"] for event in case["timeline"])
        assert case["status"] == "closed"
        assert case["open_tasks"] == []
        assert case["escalation_level"] == 0
        for once in ("reported", "dispatched", "handled", "confirmed"):
            assert actions[once] == 1, (number, once, actions)
        mine = sum(1 for key in raised if key[0] == number)
        assert actions["escalated"] == mine
        assert actions["escalation_closed"] == mine
        assert len([p for p in case["photos"] if p["kind"] == "feedback"]) == 1


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")
def test_a_sweep_passes_over_a_case_held_elsewhere_and_fires_it_next_time(tmp_path):
    with running_service(tmp_path, "postgresql") as service:
        number = _confirming_case(service)
        with _held(service, number):
            service.advance_clock(30 * 24 * HOUR)

            assert service.as_("deputy").case(number)["status"] == "confirming"
        service.advance_clock(1)
        assert service.as_("deputy").case(number)["status"] == "closed"


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")
def test_a_step_the_sweep_missed_still_climbs_the_ladder_first(tmp_path):
    with running_service(tmp_path, "postgresql") as service:
        number = _dispatched_case(service)
        with _held(service, number):
            service.advance_clock(20 * 24 * HOUR)  # past twice the handling limit
        water = service.as_("water-liaison")
        handle = water.task_of(number, "handle")

        done = water.complete(
            handle["id"], photos=["gravel.png"], decision="done", result="Fixed"
        )

        assert done.status_code == 200, done.text
        events = [
            (e["action"], (e.get("details") or {}).get("level"))
            for e in done.json()["timeline"]
        ]
        handled = events.index(("handled", None))
        assert ("escalated", 1) in events[:handled]
        assert ("escalated", 3) in events[:handled]
        assert [a for a, _ in events[handled:]].count("escalation_closed") == 2


@contextmanager
def _held(service, number):
    """The case's row locked by another connection, as by a step in progress."""
    url = make_url(service.database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as holder:
        holder.execute("SELECT 1 FROM cases WHERE number = %s FOR UPDATE", [number])
        yield


def _dispatched_case(service) -> str:
    number = service.as_("deputy").report().json()["number"]
    office = service.as_("office")
    triage = office.task_of(number, "triage")
    office.complete(
        triage["id"], decision="dispatch", category="other", department="water"
    )
    return number


def _confirming_case(service) -> str:
    number = _dispatched_case(service)
    water = service.as_("water-liaison")
    handle = water.task_of(number, "handle")
    done = water.complete(
        handle["id"], photos=["gravel.png"], decision="done", result="Fixed"
    )
    assert done.json()["status"] == "confirming", done.text
    return number


def test_catalogues_published_at_once_each_get_a_version_or_a_409(two_services):
    first, second = two_services
    streets = [f"Street {n}" for n in range(8)]
    calls = [
        lambda street=street, service=(first, second)[n % 2]: service.as_("admin").put(
            "/api/v1/catalogue",
            json={
                "entries": [
                    {"category": "noise", "street": street, "department": "housing"}
                ]
            },
        )
        for n, street in enumerate(streets)
    ]

    answers = _race(calls)

    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    published = [a.json()["version"] for a in answers if a.status_code == 201]
    assert published and len(set(published)) == len(published)
    versions = first.as_("admin").get("/api/v1/catalogue/versions").json()
    assert set(published) <= {v["version"] for v in versions}


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")
def test_a_common_problem_leaves_out_a_neighbour_held_elsewhere(tmp_path):
    with running_service(tmp_path, "postgresql") as service:
        spots = [(TIANHE[0] + 0.0004 * i, TIANHE[1]) for i in range(3)]
        numbers = [_report(service, *spot) for spot in spots]
        for number in numbers:
            _dispatch(service, number)

        with _held(service, numbers[-1]):
            service.advance_clock(4 * HOUR + 60)
            assert _common_problems(service) == {}
        service.advance_clock(1)

        assert sorted(*_common_problems(service).values()) == sorted(numbers)
