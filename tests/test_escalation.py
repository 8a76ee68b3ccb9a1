"""Deadlines over HTTP: moving the test clock raises and closes escalations."""

HOUR = 3600


def _dispatched_case(service, category="shared-bikes", department="traffic-police"):
    """A case in handling; shared bikes must be handled within 4 hours."""
    number = service.as_("deputy").report().json()["number"]
    office = service.as_("office")
    task = office.task_of(number, "triage")
    response = office.complete(
        task["id"], decision="dispatch", category=category, department=department
    )
    assert response.status_code == 200, response.text
    return number


def _escalations(service, **params):
    response = service.as_("supervisor").get("/api/v1/escalations", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_late_handling_escalates_to_reminder_then_supervision(own_service):
    service = own_service
    number = _dispatched_case(service)

    service.advance_clock(3 * HOUR)
    assert _escalations(service, open="true") == []

    service.advance_clock(1 * HOUR + 60)
    [reminder] = _escalations(service, open="true")
    assert (reminder["case_number"], reminder["level"]) == (number, 1)
    case = service.as_("supervisor").case(number)
    assert case["escalation_level"] == 1
    assert case["timeline"][-1]["action"] == "escalated"
    handle = service.as_("supervisor").get("/api/v1/tasks", params={"queue": "all"})
    late = [t for t in handle.json()["items"] if t["case_number"] == number]
    assert [t["overdue"] for t in late] == [True]

    service.advance_clock(4 * HOUR)
    levels = sorted(e["level"] for e in _escalations(service, open="true"))
    assert levels == [1, 3]
    assert service.as_("supervisor").case(number)["escalation_level"] == 3
    supervise = service.as_("supervisor").task_of(number, "supervise")
    assert supervise["lane"] == "supervision"


def test_escalations_close_when_the_case_moves_on(own_service):
    service = own_service
    number = _dispatched_case(service)
    service.advance_clock(8 * HOUR + 60)
    assert len(_escalations(service, open="true")) == 2

    liaison = service.as_("traffic-liaison")
    task = liaison.task_of(number, "handle")
    done = liaison.complete(
        task["id"], photos=["gravel.png"], decision="done", result="Bikes moved"
    )
    assert done.status_code == 200, done.text

    assert _escalations(service, open="true") == []
    closed = _escalations(service, open="false")
    assert sorted(e["level"] for e in closed) == [1, 3]
    assert all(e["closed_at"] for e in closed)
    case = done.json()
    assert case["escalation_level"] == 0
    assert "escalation_closed" in [e["action"] for e in case["timeline"]]
    assert not [t for t in case["open_tasks"] if t["name"] == "supervise"]


def test_supervisor_records_follow_ups_until_the_case_moves_on(own_service):
    service = own_service
    number = _dispatched_case(service)
    service.advance_clock(8 * HOUR + 60)
    supervisor = service.as_("supervisor")

    task = supervisor.task_of(number, "supervise")
    followed = supervisor.complete(
        task["id"], decision="follow_up", note="Called the liaison"
    )
    assert followed.status_code == 200, followed.text

    case = followed.json()
    assert case["timeline"][-1]["action"] == "supervised"
    assert case["timeline"][-1]["note"] == "Called the liaison"
    assert supervisor.task_of(number, "supervise")["id"] != task["id"]


def test_late_triage_escalates(own_service):
    service = own_service
    # Shared bikes are urgent: triage within 2 plain hours.
    number = service.as_("deputy").report(category="shared-bikes").json()["number"]

    service.advance_clock(2 * HOUR + 60)
    [reminder] = _escalations(service, open="true")
    assert reminder["case_number"] == number
    assert reminder["stage"] == "triage"

    service.advance_clock(2 * HOUR)
    assert sorted(e["level"] for e in _escalations(service, open="true")) == [1, 3]
    assert service.as_("supervisor").task_of(number, "supervise")


def test_unanswered_confirmation_closes_by_itself(own_service):
    service = own_service
    number = _dispatched_case(service)
    liaison = service.as_("traffic-liaison")
    task = liaison.task_of(number, "handle")
    liaison.complete(task["id"], photos=["grass.png"], decision="done", result="Done")

    service.advance_clock(47 * HOUR)
    assert service.as_("deputy").case(number)["status"] == "confirming"

    service.advance_clock(1 * HOUR + 60)
    case = service.as_("deputy").case(number)
    assert case["status"] == "closed"
    assert case["closed_at"]
    last = case["timeline"][-1]
    assert last["action"] == "closed_unanswered"
    assert "48" in last["note"]
