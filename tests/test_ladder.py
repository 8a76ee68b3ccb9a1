"""The escalation ladder over HTTP: pauses, extensions, common problems, supervision,
and notifications delivered to a real webhook receiver on loopback."""

from datetime import datetime, timedelta

import pytest

from tests.conftest import BACKENDS, running_service
from tests.fakes import Receiver

HOUR = 3600
# Shared bikes are urgent: plain hours, triage 2, handling 4, so the real time of
# day a test runs at does not matter.
URGENT = "shared-bikes"
TIANHE = (23.1291, 113.3612)


@pytest.fixture(params=BACKENDS)
def notified_service(request, tmp_path):
    receiver = Receiver(failures=2)
    settings = {
        "SUISHOUPAI_NOTIFY_SENDER": "webhook",
        "SUISHOUPAI_NOTIFY_WEBHOOK_URL": receiver.url,
    }
    try:
        with running_service(tmp_path, request.param, settings=settings) as service:
            yield service, receiver
    finally:
        receiver.stop()


def _report(service, lat=None, lng=None):
    form = {"category": URGENT}
    if lat is not None:
        form.update(lat=str(lat), lng=str(lng))
    response = service.as_("deputy").report(**form)
    assert response.status_code == 201, response.text
    return response.json()["number"]


def _dispatch(service, number):
    office = service.as_("office")
    task = office.task_of(number, "triage")
    done = office.complete(
        task["id"], decision="dispatch", category=URGENT, department="traffic-police"
    )
    assert done.status_code == 200, done.text


def _open_escalations(service, number=None):
    items = (
        service.as_("supervisor")
        .get("/api/v1/escalations", params={"open": "true"})
        .json()
    )
    return [e for e in items if number is None or e["case_number"] == number]


def test_case_shows_its_deadline_time_used_and_left(own_service):
    service = own_service
    number = _report(service)
    _dispatch(service, number)

    service.advance_clock(1 * HOUR)
    deadline = service.as_("supervisor").case(number)["deadline"]

    assert deadline["stage"] == "handling"
    assert deadline["limit"] == "4 hours"
    assert deadline["used_hours"] == pytest.approx(1, abs=0.05)
    assert deadline["left_hours"] == pytest.approx(3, abs=0.05)
    assert deadline["paused"] is False


def test_reminder_is_raised_once_per_stage(own_service):
    service = own_service
    number = _report(service)
    _dispatch(service, number)

    for _ in range(3):
        service.advance_clock(1.5 * HOUR)
    levels = [e["level"] for e in _open_escalations(service, number)]

    assert levels == [1]
    timeline = service.as_("supervisor").case(number)["timeline"]
    assert [e["action"] for e in timeline].count("escalated") == 1


def test_clock_pauses_while_an_extension_waits_and_moves_when_approved(own_service):
    service = own_service
    number = _report(service)
    _dispatch(service, number)
    liaison = service.as_("traffic-liaison")
    task = liaison.task_of(number, "handle")
    service.advance_clock(1 * HOUR)
    now = datetime.fromisoformat(service.advance_clock(0)["now"])

    asked = liaison.post(
        f"/api/v1/tasks/{task['id']}/extension",
        json={
            "reason": "Waiting for the operator's truck",
            "until": (now + timedelta(hours=20)).isoformat(),
        },
    )
    assert asked.status_code == 201, asked.text
    assert service.as_("supervisor").case(number)["deadline"]["paused"] is True

    service.advance_clock(6 * HOUR)  # past the first deadline, but paused
    assert _open_escalations(service, number) == []

    decided = service.as_("office").post(
        f"/api/v1/extensions/{asked.json()['id']}/decision",
        json={"approve": True, "note": "Granted"},
    )
    assert decided.status_code == 200, decided.text
    deadline = service.as_("supervisor").case(number)["deadline"]
    assert datetime.fromisoformat(deadline["due_at"]) == now + timedelta(hours=20)
    assert deadline["used_hours"] == pytest.approx(1, abs=0.05)

    service.advance_clock(12 * HOUR)
    assert _open_escalations(service, number) == []
    service.advance_clock(3 * HOUR)
    assert [e["level"] for e in _open_escalations(service, number)] == [1]
    actions = [e["action"] for e in service.as_("supervisor").case(number)["timeline"]]
    assert {"extension_requested", "extension_approved"} <= set(actions)


def _asking_for_time(service, after_hours):
    """A dispatched case whose handler asks for two more days `after_hours` in."""
    number = _report(service)
    _dispatch(service, number)
    liaison = service.as_("traffic-liaison")
    task = liaison.task_of(number, "handle")
    now = datetime.fromisoformat(service.advance_clock(after_hours * HOUR)["now"])
    asked = liaison.post(
        f"/api/v1/tasks/{task['id']}/extension",
        json={"reason": "More time", "until": (now + timedelta(days=2)).isoformat()},
    )
    assert asked.status_code == 201, asked.text
    return number, liaison, task, asked.json()


def test_refused_extension_still_does_not_count_the_wait(own_service):
    service = own_service
    number, _, _, asked = _asking_for_time(service, after_hours=3)

    service.advance_clock(5 * HOUR)
    refused = service.as_("office").post(
        f"/api/v1/extensions/{asked['id']}/decision", json={"approve": False}
    )
    assert refused.status_code == 200, refused.text

    assert _open_escalations(service, number) == []
    service.advance_clock(1 * HOUR + 60)
    assert [e["level"] for e in _open_escalations(service, number)] == [1]


def test_a_request_still_waiting_when_handling_ends_lapses(own_service):
    service = own_service
    number, liaison, task, asked = _asking_for_time(service, after_hours=1)

    done = liaison.complete(
        task["id"], photos=["gravel.png"], decision="done", result="Moved"
    )
    assert done.status_code == 200, done.text
    late = service.as_("office").post(
        f"/api/v1/extensions/{asked['id']}/decision", json={"approve": True}
    )

    assert late.status_code == 409, late.text
    waiting = service.as_("office").get(
        "/api/v1/extensions", params={"pending": "true"}
    )
    assert asked["id"] not in [r["id"] for r in waiting.json()]
    actions = [e["action"] for e in service.as_("supervisor").case(number)["timeline"]]
    assert "extension_lapsed" in actions and "extension_approved" not in actions


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "refused"])
def test_the_handling_task_is_due_when_its_decided_deadline_is(own_service, approve):
    service = own_service
    number = _report(service)
    _dispatch(service, number)
    liaison = service.as_("traffic-liaison")
    task = liaison.task_of(number, "handle")
    now = datetime.fromisoformat(service.advance_clock(1 * HOUR)["now"])
    asked = liaison.post(
        f"/api/v1/tasks/{task['id']}/extension",
        json={
            "reason": "Parts ordered",
            "until": (now + timedelta(days=2)).isoformat(),
        },
    )
    service.advance_clock(5 * HOUR)  # past the task's first due time, while paused

    decided = service.as_("office").post(
        f"/api/v1/extensions/{asked.json()['id']}/decision", json={"approve": approve}
    )

    assert decided.status_code == 200, decided.text
    deadline = service.as_("supervisor").case(number)["deadline"]
    task = liaison.task_of(number, "handle")
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat(
        deadline["due_at"]
    )
    assert task["overdue"] is False


def test_nearby_late_cases_become_one_common_problem(notified_service):
    service, receiver = notified_service
    spots = [(TIANHE[0] + 0.0004 * i, TIANHE[1]) for i in range(3)]
    numbers = [_report(service, *spot) for spot in spots]
    far = _report(service, TIANHE[0] + 0.05, TIANHE[1])
    for number in [*numbers, far]:
        _dispatch(service, number)

    service.advance_clock(4 * HOUR + 60)

    suggestions = [e for e in _open_escalations(service) if e["level"] == 2]
    assert sorted(e["case_number"] for e in suggestions) == sorted(numbers)
    assert len({e["common_problem"] for e in suggestions}) == 1
    assert [e["level"] for e in _open_escalations(service, far)] == [1]
    assert not [
        e
        for e in _open_escalations(service)
        if e["case_number"] in numbers and e["level"] == 1
    ]
    kinds = [body["kind"] for body in receiver.received]
    assert kinds.count("suggestion") == 1
    assert kinds.count("reminder") == 1
    suggestion = next(b for b in receiver.received if b["kind"] == "suggestion")
    assert sorted(suggestion["cases"]) == sorted(numbers)
    assert suggestion["recipient"] == "department:traffic-police"


def _close(service, number):
    liaison, deputy = service.as_("traffic-liaison"), service.as_("deputy")
    handle = liaison.task_of(number, "handle")
    done = liaison.complete(
        handle["id"], photos=["gravel.png"], decision="done", result="Moved"
    )
    assert done.status_code == 200, done.text
    confirm = deputy.task_of(number, "confirm", queue="mine")
    closed = deputy.complete(confirm["id"], decision="satisfied")
    assert closed.json()["status"] == "closed", closed.text


def _common_problems(service):
    board = service.as_("supervisor").get("/api/v1/board").json()
    return {p["id"]: p["cases"] for p in board["common_problems"]}


def test_a_common_problem_ends_when_its_last_case_closes(own_service):
    service = own_service
    spots = [(TIANHE[0] + 0.0004 * i, TIANHE[1]) for i in range(3)]
    numbers = [_report(service, *spot) for spot in spots]
    for number in numbers:
        _dispatch(service, number)
    service.advance_clock(4 * HOUR + 60)
    (problem,) = _common_problems(service)

    for number in numbers[:-1]:
        _close(service, number)
        assert list(_common_problems(service)) == [problem]
    _close(service, numbers[-1])
    assert _common_problems(service) == {}


def test_third_return_puts_the_case_under_supervision(own_service):
    service = own_service
    number = _report(service)
    liaison = service.as_("traffic-liaison")
    for _ in range(3):
        _dispatch(service, number)
        task = liaison.task_of(number, "handle")
        returned = liaison.complete(task["id"], decision="return", reason="Not ours")
        assert returned.status_code == 200, returned.text

    case = service.as_("supervisor").case(number)
    assert case["return_count"] == 3
    assert case["escalation_level"] == 3
    assert service.as_("supervisor").task_of(number, "arbitrate")


def test_supervisor_can_decide_on_supervision(own_service):
    service = own_service
    number = _report(service)

    refused = service.as_("office").post(
        f"/api/v1/cases/{number}/supervision", json={"reason": "Serious"}
    )
    decided = service.as_("supervisor").post(
        f"/api/v1/cases/{number}/supervision", json={"reason": "Kindergarten nearby"}
    )

    assert refused.status_code == 403
    assert decided.status_code == 200, decided.text
    assert decided.json()["escalation_level"] == 3
    [escalation] = _open_escalations(service, number)
    assert "Kindergarten nearby" in escalation["reason"]
    assert service.as_("supervisor").task_of(number, "supervise")


def test_notifications_reach_the_webhook_despite_failures(notified_service):
    service, receiver = notified_service
    number = _report(service)
    _dispatch(service, number)

    service.advance_clock(4 * HOUR + 60)

    [reminder] = receiver.received
    assert reminder["kind"] == "reminder"
    assert reminder["case"] == number
    assert reminder["recipient"] == "department:traffic-police"
    service.advance_clock(4 * HOUR)
    assert [b["kind"] for b in receiver.received] == ["reminder", "supervision"]
    assert receiver.received[1]["recipient"] == "supervisors"
