"""The whole loop over HTTP on the real server: report, triage, handling, feedback."""

import io

import pytest
from PIL import Image

from tests.conftest import photo


def _report(service, **form):
    response = service.as_("deputy").report(**form)
    assert response.status_code == 201, response.text
    return response.json()


def _dispatch(service, number, department="water", category="water-environment"):
    office = service.as_("office")
    task = office.task_of(number, "triage")
    assert office.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    response = office.complete(
        task["id"],
        decision="dispatch",
        category=category,
        department=department,
        note="please fix",
    )
    assert response.status_code == 200, response.text
    return response.json()


def _handle(service, number, liaison="water-liaison"):
    handler = service.as_(liaison)
    task = handler.task_of(number, "handle")
    assert handler.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    response = handler.complete(
        task["id"], photos=["rocket.jpg"], decision="done", result="Cleared and cleaned"
    )
    assert response.status_code == 200, response.text
    return response.json()


def _actions(case):
    return [event["action"] for event in case["timeline"]]


def test_report_with_photos_waits_for_triage(service):
    case = _report(service, photos=("hopper.jpg", "coffee.png"), address="Tianhe Rd 1")

    assert case["number"]
    assert case["status"] == "triage"
    assert case["location"]["address"] == "Tianhe Rd 1"
    assert [p["kind"] for p in case["photos"]] == ["report", "report"]
    assert [t["name"] for t in case["open_tasks"]] == ["triage"]
    assert case["timeline"][0]["action"] == "reported"
    assert case["timeline"][0]["photo_ids"] == [p["id"] for p in case["photos"]]
    assert service.as_("office").task_of(case["number"], "triage")["lane"] == "triage"


def _without_clock(case):
    """A case as answered, less what moves with the clock (time used and left)."""
    return {
        **case,
        "deadline": {**case["deadline"], "used_hours": None, "left_hours": None},
    }


def test_the_answer_of_each_step_is_the_case_as_read_back(service):
    reported = _report(service, photos=("hopper.jpg", "coffee.png"))
    number = reported["number"]
    read = service.as_("deputy").case(number)
    assert _without_clock(reported) == _without_clock(read)

    dispatched = _dispatch(service, number)
    assert _without_clock(dispatched) == _without_clock(
        service.as_("office").case(number)
    )


def test_dispatched_case_is_handled_and_confirmed(service):
    number = _report(service)["number"]

    dispatched = _dispatch(service, number)
    assert dispatched["status"] == "handling"
    assert dispatched["department"] == "water"
    assert dispatched["category"] == "water-environment"

    handled = _handle(service, number)
    assert handled["status"] == "confirming"
    feedback = [p for p in handled["photos"] if p["kind"] == "feedback"]
    assert len(feedback) == 1

    deputy = service.as_("deputy")
    assert deputy.get(feedback[0]["url"]).status_code == 200
    confirm = deputy.task_of(number, "confirm", queue="mine")
    closed = deputy.complete(confirm["id"], decision="satisfied")
    assert closed.status_code == 200, closed.text

    case = closed.json()
    assert case["status"] == "closed"
    assert case["closed_at"]
    assert case["open_tasks"] == []
    assert _actions(case) == [
        "reported",
        "claimed",
        "dispatched",
        "claimed",
        "handled",
        "confirmed",
    ]
    handled_event = case["timeline"][4]
    assert handled_event["actor"] == "water-liaison"
    assert handled_event["note"] == "Cleared and cleaned"
    assert handled_event["photo_ids"] == [feedback[0]["id"]]


def test_rejected_case_is_final(service):
    number = _report(service)["number"]
    office = service.as_("office")
    task = office.task_of(number, "triage")

    case = office.complete(task["id"], decision="reject", reason="Not a public matter")

    assert case.status_code == 200, case.text
    assert case.json()["status"] == "rejected"
    assert case.json()["closed_at"]
    assert _actions(case.json())[-1] == "rejected"


def test_duplicate_is_merged_into_the_earlier_case(service):
    first = _report(service)["number"]
    second = _report(service)["number"]
    office = service.as_("office")
    task = office.task_of(second, "triage")

    merged = office.complete(task["id"], decision="merge", duplicate_of=first)

    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged"
    assert merged.json()["duplicate_of"] == first
    assert "duplicate_merged" in _actions(office.case(first))


def test_case_is_transferred_to_a_partner(service):
    number = _report(service)["number"]
    office = service.as_("office")
    task = office.task_of(number, "triage")

    case = office.complete(task["id"], decision="transfer", partner="bike-platform")

    assert case.status_code == 200, case.text
    assert case.json()["status"] == "transferred"
    assert case.json()["partner"] == "bike-platform"


def test_returned_case_is_dispatched_to_another_department(service):
    number = _report(service)["number"]
    _dispatch(service, number, department="water")
    water = service.as_("water-liaison")
    task = water.task_of(number, "handle")

    returned = water.complete(task["id"], decision="return", reason="Not our pipe")
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "triage"

    _dispatch(service, number, department="housing", category="municipal-facilities")
    assert service.as_("housing-liaison").task_of(number, "handle")
    assert not [t for t in water.queue() if t["case_number"] == number]
    case = _handle(service, number, liaison="housing-liaison")
    assert case["status"] == "confirming"
    returned_event = next(e for e in case["timeline"] if e["action"] == "returned")
    assert returned_event["note"] == "Not our pipe"


def test_disputed_result_is_reworked_then_closed(service):
    number = _report(service)["number"]
    _dispatch(service, number)
    _handle(service, number)
    deputy = service.as_("deputy")

    confirm = deputy.task_of(number, "confirm", queue="mine")
    disputed = deputy.complete(
        confirm["id"], decision="unsatisfied", reason="Bikes are back"
    )
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "handling"

    _handle(service, number)
    confirm = deputy.task_of(number, "confirm", queue="mine")
    closed = deputy.complete(confirm["id"], decision="satisfied")
    assert closed.json()["status"] == "closed"
    assert _actions(closed.json()).count("handled") == 2
    assert "disputed" in _actions(closed.json())


def test_handler_of_another_department_cannot_see_or_work_the_case(service):
    number = _report(service)["number"]
    _dispatch(service, number, department="water")
    task = service.as_("water-liaison").task_of(number, "handle")
    housing = service.as_("housing-liaison")

    assert housing.get(f"/api/v1/cases/{number}").status_code == 404
    assert not [t for t in housing.queue() if t["case_number"] == number]
    attempt = housing.complete(
        task["id"], photos=["rocket.jpg"], decision="done", result="Not ours"
    )
    assert attempt.status_code in (403, 404)
    assert attempt.json()["code"] == attempt.status_code
    assert service.as_("office").case(number)["status"] == "handling"


def test_claimed_task_is_held_against_others(service):
    number = _report(service)["number"]
    office = service.as_("office")
    admin = service.as_("admin")
    task = office.task_of(number, "triage")
    assert (
        office.post(f"/api/v1/tasks/{task['id']}/claim").json()["assignee"] == "office"
    )

    taken = admin.post(f"/api/v1/tasks/{task['id']}/claim")
    assert taken.status_code == 409
    assert "office" in taken.json()["message"]
    assert not [t for t in office.queue() if t["case_number"] == number]
    assert office.task_of(number, "triage", queue="mine")

    assert office.post(f"/api/v1/tasks/{task['id']}/release").status_code == 200
    assert office.task_of(number, "triage")["assignee"] is None


def test_only_the_reporter_holds_their_confirmation(service):
    number = _report(service)["number"]
    _dispatch(service, number)
    _handle(service, number)
    deputy = service.as_("deputy")
    confirm = deputy.task_of(number, "confirm", queue="mine")
    path = f"/api/v1/tasks/{confirm['id']}"

    claimed = service.as_("admin").post(f"{path}/claim")
    given = service.as_("supervisor").post(f"{path}/assign", json={"user": "admin"})
    confirmed = deputy.complete(confirm["id"], decision="satisfied")

    assert claimed.status_code == 403
    assert given.status_code == 422
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "closed"


def test_served_photo_is_upright_and_has_no_exif(service, tmp_path):
    case = _report(service, photos=("hopper_orientation_6.jpg",))
    deputy = service.as_("deputy")

    served = deputy.get(case["photos"][0]["url"])
    thumbnail = deputy.get(case["photos"][0]["thumbnail_url"])

    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    path = tmp_path / "served.jpg"
    path.write_bytes(served.content)
    with Image.open(path) as image:
        assert not image.getexif()
        assert b"Exif" not in served.content[:64]
    assert thumbnail.status_code == 200
    assert thumbnail.headers["Content-Type"] == "image/jpeg"


def test_gps_of_the_first_photo_fills_a_missing_location(service, tmp_path):
    with Image.open(io.BytesIO(photo("hopper.jpg")[1])) as im:
        exif = Image.Exif()
        gps = exif.get_ifd(0x8825)
        gps.update({1: "N", 2: (23.0, 7.0, 30.0), 3: "E", 4: (113.0, 19.0, 12.0)})
        path = tmp_path / "tianhe.jpg"
        im.save(path, exif=exif)
    deputy = service.as_("deputy")

    response = deputy.post(
        "/api/v1/reports",
        data={"description": "Broken fountain"},
        files=[("photos", ("tianhe.jpg", path.read_bytes(), "image/jpeg"))],
    )

    assert response.status_code == 201, response.text
    location = response.json()["location"]
    assert location["lat"] == pytest.approx(23.125, abs=1e-4)
    assert location["lng"] == pytest.approx(113.32, abs=1e-4)


def test_case_list_shows_only_what_the_caller_may_see(service):
    mine = _report(service)["number"]
    theirs = service.as_("other-deputy").report().json()["number"]

    listed = service.as_("deputy").get("/api/v1/cases", params={"per_page": 200}).json()
    numbers = [case["number"] for case in listed["items"]]
    assert mine in numbers and theirs not in numbers

    office = service.as_("office").get("/api/v1/cases", params={"status": "triage"})
    assert {mine, theirs} <= {case["number"] for case in office.json()["items"]}


def test_reference_data_and_openapi_are_served(service):
    admin = service.as_("admin")

    departments = {d["code"] for d in admin.get("/api/v1/departments").json()}
    categories = admin.get("/api/v1/categories").json()
    spec = admin.get("/api/openapi.json")

    assert departments == {"housing", "water", "traffic-police", "city-management"}
    assert {"noise", "shared-bikes", "other"} <= {c["code"] for c in categories}
    assert {"triage_hours", "handling_hours", "confirm_hours"} <= set(
        categories[0]["limits"]
    )
    assert spec.status_code == 200
    assert "/api/v1/reports" in spec.json()["paths"]


def test_queue_pages_neither_skip_nor_repeat_while_tasks_change(service):
    numbers = {_report(service)["number"] for _ in range(5)}
    office = service.as_("office")

    seen, after = [], None
    while True:
        params = {
            "queue": "available",
            "limit": 2,
            **({"after": after} if after else {}),
        }
        page = office.get("/api/v1/tasks", params=params).json()
        seen += [task["id"] for task in page["items"]]
        if len(seen) == 2:
            # A task ahead of the cursor leaves the queue meanwhile.
            office.post(f"/api/v1/tasks/{seen[0]}/claim")
            _report(service)
        after = page["next"]
        if after is None:
            break

    assert len(seen) == len(set(seen))
    still_open = {t["id"] for t in office.queue() if t["case_number"] in numbers}
    assert still_open <= set(seen)


def test_bad_queue_cursor_is_refused(service):
    response = service.as_("office").get("/api/v1/tasks", params={"after": "nonsense"})

    assert response.status_code == 422
    assert "after" in response.json()["errors"]
