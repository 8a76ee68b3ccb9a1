"""Reporters' pages over plain HTTP: the report form, my reports, confirm or dispute."""

import re

from tests.conftest import photo
from tests.test_staff_pages import KEY, field_error, report, signed_in


def handled_case(service) -> str:
    """A case the water department has finished, waiting for the deputy."""
    number = report(service)
    office = service.as_("office")
    triage = office.task_of(number, "triage")
    office.complete(triage["id"], decision="dispatch", category="water-environment")
    water = service.as_("water-liaison")
    handle = water.task_of(number, "handle")
    done = water.complete(
        handle["id"], decision="done", result="Drain cleared", photos=("rocket.jpg",)
    )
    assert done.status_code == 200, done.text
    return number


def test_a_report_sent_from_the_form_becomes_a_case(service):
    pages = signed_in(service, "deputy")

    answer = pages.post(
        "/report/",
        {
            "description": "Bikes on the pavement 人行道上乱停共享单车",
            "lat": "23.1291",
            "lng": "113.3612",
            "address": "Tianhe Rd 1",
            "street": "Linhe",
            "category": "shared-bikes",
        },
        files=[("photos", photo("hopper.jpg")), ("photos", photo("coffee.png"))],
    )

    assert answer.status_code == 200
    number = re.search(r'id="case-heading" data-case="([^"]+)"', answer.text).group(1)
    case = service.as_("deputy").case(number)
    assert case["location"] == {
        "lat": 23.1291,
        "lng": 113.3612,
        "address": "Tianhe Rd 1",
    }
    assert case["street"] == "Linhe" and case["category"] == "shared-bikes"
    assert len(case["photos"]) == 2


def test_the_report_form_names_each_bad_field(service):
    pages = signed_in(service, "deputy", headers={"Accept-Language": "en"})
    before = service.as_("deputy").get("/api/v1/cases").json()["total"]

    answer = pages.post(
        "/report/",
        {"description": "  ", "lat": "23.1", "address": "Kept 保留"},
        files=[("photos", ("", b"", "application/octet-stream"))],
    )

    assert answer.status_code == 422
    assert field_error(answer.text, "error-description") == "Required."
    assert 'value="Kept 保留"' in answer.text
    assert service.as_("deputy").get("/api/v1/cases").json()["total"] == before


def test_a_report_without_photos_or_half_a_position_is_refused_per_field(service):
    pages = signed_in(service, "deputy", headers={"Accept-Language": "en"})

    no_photo = pages.post("/report/", {"description": "Broken lamp"})
    half = pages.post(
        "/report/",
        {"description": "Broken lamp", "lat": "23.1"},
        files=[("photos", photo("hopper.jpg"))],
    )
    not_an_image = pages.post(
        "/report/",
        {"description": "Broken lamp"},
        files=[("photos", ("notes.jpg", b"not a photo", "image/jpeg"))],
    )

    assert no_photo.status_code == 422
    assert field_error(no_photo.text, "error-photos") == (
        "At least 1 photo is required."
    )
    assert half.status_code == 422
    assert "latitude and longitude" in field_error(half.text, "error-lat")
    assert not_an_image.status_code == 422
    assert "not an image" in field_error(not_an_image.text, "error-photos")


def test_a_bad_field_and_a_bad_photo_are_both_named(service):
    pages = signed_in(service, "deputy", headers={"Accept-Language": "en"})

    answer = pages.post(
        "/report/",
        {"description": "Broken lamp", "lat": "north", "lng": "113.36"},
        files=[("photos", ("notes.jpg", b"not a photo", "image/jpeg"))],
    )

    assert answer.status_code == 422
    assert field_error(answer.text, "error-lat")
    assert "not an image" in field_error(answer.text, "error-photos")


def test_a_report_form_sent_twice_makes_one_case(service):
    pages = signed_in(service, "deputy")
    form = pages.get("/report/")
    key = KEY.search(form.text).group(1)
    data = {"description": "Sent on a shaky line", "idempotency_key": key}

    first = pages.post("/report/", data, files=[("photos", photo("hopper.jpg"))])
    second = pages.post("/report/", data, files=[("photos", photo("hopper.jpg"))])

    numbers = [
        re.search(r'data-case="([^"]+)"', answer.text).group(1)
        for answer in (first, second)
    ]
    assert numbers[0] == numbers[1]


def test_my_reports_show_status_and_the_departments_photos(service):
    number = handled_case(service)
    pages = signed_in(service, "deputy", headers={"Accept-Language": "en"})

    mine = pages.get("/report/mine")
    card = re.search(
        rf'<li class="card waiting" data-case="{number}".*?</li>', mine.text, re.S
    )
    case = pages.get(f"/report/cases/{number}")

    assert card, "the case is not marked as waiting for me"
    assert 'data-status="confirming"' in card.group(0)
    assert 'class="kind-feedback"' in card.group(0)
    assert re.search(r'id="result".*?Drain cleared', case.text, re.S)
    assert 'data-kind="feedback"' in case.text
    assert 'id="form-satisfied"' in case.text


def test_a_dispute_needs_a_reason_and_sends_the_case_back(service):
    number = handled_case(service)
    pages = signed_in(service, "deputy", headers={"Accept-Language": "en"})
    page = pages.get(f"/report/cases/{number}")
    task_id = re.search(r'name="task_id" value="(\d+)"', page.text).group(1)

    bare = pages.post(
        f"/report/cases/{number}/confirm",
        {"task_id": task_id, "decision": "unsatisfied"},
    )
    disputed = pages.post(
        f"/report/cases/{number}/confirm",
        {"task_id": task_id, "decision": "unsatisfied", "reason": "Still blocked"},
    )

    assert bare.status_code == 422
    assert field_error(bare.text, "error-reason") == "Required."
    assert disputed.status_code == 200
    case = service.as_("deputy").case(number)
    assert case["status"] == "handling"
    disputed = next(e for e in case["timeline"] if e["action"] == "disputed")
    assert disputed["note"] == "Still blocked"


def test_another_deputy_cannot_open_or_answer_my_case(service):
    number = handled_case(service)
    mine = signed_in(service, "deputy").get(f"/report/cases/{number}")
    task_id = re.search(r'name="task_id" value="(\d+)"', mine.text).group(1)
    other = signed_in(service, "other-deputy")

    seen = other.get(f"/report/cases/{number}")
    answered = other.post(
        f"/report/cases/{number}/confirm",
        {"task_id": task_id, "decision": "satisfied"},
    )

    assert seen.status_code == 404 and answered.status_code == 404
    assert number not in other.get("/report/mine").text
    assert service.as_("deputy").case(number)["status"] == "confirming"
