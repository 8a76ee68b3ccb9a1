"""Bad input against the real server: the documented 4xx, the contract's error shape,
and nothing half-stored behind a refusal."""

import base64
import contextlib
import json
import os
import threading
from http import HTTPStatus

import pytest

from tests.conftest import Client, photo

ERROR_KEYS = {"code", "status", "message", "errors"}
TEXT_AS_JPEG = ("notes.jpg", b"Bikes parked in a heap, see you Monday.\n", "image/jpeg")


# Helpers


def field_names(errors) -> set[str]:
    """Every key at any depth of an `errors` object, e.g. {"form": {"lat": [...]}}."""
    names = set()
    if isinstance(errors, dict):
        for key, value in errors.items():
            names.add(str(key))
            names |= field_names(value)
    return names


def assert_error(response, status: int, *fields: str) -> dict:
    """The answer is `status` in the contract's error shape, naming each of `fields`."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= ERROR_KEYS, body
    assert {"code", "status", "message"} <= set(body), body
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    if status != 413:
        assert body["status"] == HTTPStatus(status).phrase
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text
    if fields:
        named = field_names(body.get("errors"))
        for name in fields:
            assert name in named, f"{name!r} not named in {body.get('errors')}"
    return body


def photo_files(service) -> list[str]:
    folder = service.instance_dir / "photos"
    if not folder.exists():
        return []
    return sorted(str(path) for path in folder.rglob("*") if path.is_file())


def case_total(service, user="deputy") -> int:
    response = service.as_(user).get("/api/v1/cases")
    assert response.status_code == 200, response.text
    return response.json()["total"]


@contextlib.contextmanager
def nothing_stored(service):
    """Assert that the block leaves no new case of the deputy's and no photo file."""
    cases, files = case_total(service), photo_files(service)
    yield
    assert case_total(service) == cases, "a refused report left a case behind"
    assert photo_files(service) == files, "a refused request left photo files behind"


def post_report(
    client: Client, files, description="Bikes parked in a heap", headers=None, **form
):
    data = {"description": description, **form} if description is not None else form
    return client.post("/api/v1/reports", data=data, files=files, headers=headers)


def new_case(service) -> str:
    response = service.as_("deputy").report()
    assert response.status_code == 201, response.text
    return response.json()["number"]


def triage_task(service, number) -> dict:
    return service.as_("office").task_of(number, "triage")


def dispatched_case(service, department="water") -> tuple[str, dict]:
    """A case dispatched to `department`, and its open handle task."""
    number = new_case(service)
    office = service.as_("office")
    response = office.complete(
        triage_task(service, number)["id"],
        decision="dispatch",
        category="water-environment",
        department=department,
    )
    assert response.status_code == 200, response.text
    return number, service.as_(f"{department}-liaison").task_of(number, "handle")


def assert_still_open(service, number, task, status):
    case = service.as_("admin").case(number)
    assert case["status"] == status
    assert task["id"] in [t["id"] for t in case["open_tasks"]]


# Reports


def test_text_file_named_jpg_is_refused_naming_photos(service):
    with nothing_stored(service):
        response = post_report(service.as_("deputy"), [("photos", TEXT_AS_JPEG)])
    assert_error(response, 422, "photos")


def test_truncated_jpeg_is_refused(service):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", photo("truncated_jpeg.jpg"))]
        )
    assert_error(response, 422, "photos")


def test_one_bad_photo_among_good_ones_stores_none_of_them(service):
    files = [
        ("photos", photo(name))
        for name in ("hopper.jpg", "coffee.png", "truncated_jpeg.jpg")
    ]
    with nothing_stored(service):
        response = post_report(service.as_("deputy"), files)
    assert_error(response, 422, "photos")


def test_report_without_photos_is_refused(service):
    with nothing_stored(service):
        response = service.as_("deputy").report(photos=())
    assert_error(response, 422, "photos")


def test_report_with_ten_photos_is_refused(service):
    with nothing_stored(service):
        response = service.as_("deputy").report(photos=("hopper.jpg",) * 10)
    assert_error(response, 422, "photos")


def test_report_with_nine_photos_is_accepted(service):
    before = case_total(service)

    response = service.as_("deputy").report(photos=("hopper.jpg",) * 9)

    assert response.status_code == 201, response.text
    assert len(response.json()["photos"]) == 9
    assert case_total(service) == before + 1


def test_report_without_description_is_refused_naming_description(service):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", photo("hopper.jpg"))], description=None
        )
    assert_error(response, 422, "description")


def test_report_with_empty_description_is_refused(service):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", photo("hopper.jpg"))], description=""
        )
    assert_error(response, 422, "description")


def test_report_with_unknown_category_hint_is_refused_naming_category(service):
    with nothing_stored(service):
        response = service.as_("deputy").report(category="flying-saucers")
    assert_error(response, 422, "category")


@pytest.mark.parametrize("given", [{"lat": "23.125"}, {"lng": "113.32"}])
def test_report_with_only_one_coordinate_is_refused(service, given):
    with nothing_stored(service):
        response = service.as_("deputy").report(**given)
    assert_error(response, 422, *given)


@pytest.mark.parametrize(
    "lat, lng",
    [("north", "113.32"), ("91", "113.32"), ("23.125", "181"), ("nan", "113.32")],
)
def test_report_with_impossible_coordinates_is_refused(service, lat, lng):
    with nothing_stored(service):
        response = service.as_("deputy").report(lat=lat, lng=lng)
    body = assert_error(response, 422)
    assert field_names(body.get("errors")) & {"lat", "lng"}


def test_report_with_a_bad_field_and_a_bad_photo_names_both(service):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", TEXT_AS_JPEG)], lat="north", lng="113"
        )
    assert_error(response, 422, "lat", "photos")


@pytest.mark.parametrize(
    "form, field",
    [
        ({"description": "x" * 4001}, "description"),
        ({"address": "x" * 301}, "address"),
        ({"category": "c" * 41}, "category"),
    ],
)
def test_report_with_overlong_text_is_refused(service, form, field):
    with nothing_stored(service):
        response = service.as_("deputy").report(**form)
    assert_error(response, 422, field)


def test_report_sent_as_json_is_refused(service):
    with nothing_stored(service):
        response = service.as_("deputy").post(
            "/api/v1/reports", json={"description": "Bikes parked in a heap"}
        )
    assert_error(response, 422)


def test_photo_over_the_byte_limit_is_refused_as_too_large(service):
    oversized = os.urandom(15 * 1024 * 1024 + 1)
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", ("huge.jpg", oversized, "image/jpeg"))]
        )
    assert_error(response, 413, "photos")


def test_report_without_token_is_unauthorized(service):
    with nothing_stored(service):
        response = service.as_("nobody").report()
    assert_error(response, 401)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-real-token", "Basic ZGVwdXR5OnNlY3JldA==", "Bearer "],
)
def test_report_with_bad_token_is_unauthorized(service, authorization):
    client = Client(service.base_url, None)
    client.http.headers["Authorization"] = authorization
    with nothing_stored(service):
        response = client.report()
    assert_error(response, 401)


def test_reads_without_token_are_unauthorized(service):
    anonymous = service.as_("nobody")
    for path in ("/api/v1/cases", "/api/v1/tasks", "/api/v1/categories"):
        assert_error(anonymous.get(path), 401)


def test_triage_user_cannot_submit_a_report(service):
    with nothing_stored(service):
        response = service.as_("office").report()
    assert_error(response, 403)


def test_retried_report_with_same_idempotency_key_returns_the_first_case(service):
    deputy = service.as_("deputy")
    cases, files = case_total(service), len(photo_files(service))
    headers = {"Idempotency-Key": "retry-4b1e7c0a"}

    first = post_report(deputy, [("photos", photo("hopper.jpg"))], headers=headers)
    again = post_report(deputy, [("photos", photo("hopper.jpg"))], headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code in (200, 201), again.text
    assert again.json()["number"] == first.json()["number"]
    assert case_total(service) == cases + 1
    # One photo and its thumbnail: the retry stored nothing more.
    assert len(photo_files(service)) == files + 2


def test_an_idempotency_key_reused_for_another_report_is_refused(service):
    deputy = service.as_("deputy")
    headers = {"Idempotency-Key": "reused-2f8a"}
    first = post_report(deputy, [("photos", photo("hopper.jpg"))], headers=headers)
    assert first.status_code == 201, first.text

    with nothing_stored(service):
        other_text = post_report(
            deputy,
            [("photos", photo("hopper.jpg"))],
            headers=headers,
            description="Another problem",
        )
        other_photo = post_report(
            deputy, [("photos", photo("gravel.png"))], headers=headers
        )

    assert_error(other_text, 422, "Idempotency-Key")
    assert_error(other_photo, 422, "Idempotency-Key")


def test_different_idempotency_keys_make_different_cases(service):
    deputy = service.as_("deputy")
    cases = case_total(service)

    first = post_report(
        deputy,
        [("photos", photo("hopper.jpg"))],
        headers={"Idempotency-Key": "key-a-9d2f"},
    )
    second = post_report(
        deputy,
        [("photos", photo("hopper.jpg"))],
        headers={"Idempotency-Key": "key-b-9d2f"},
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["number"] != second.json()["number"]
    assert case_total(service) == cases + 2


def test_concurrent_retries_with_same_idempotency_key_make_one_case(service):
    cases, files = case_total(service), len(photo_files(service))
    answers = []

    def submit():
        answers.append(
            post_report(
                service.as_("deputy"),
                [("photos", photo("hopper.jpg"))],
                headers={"Idempotency-Key": "flaky-network-77e0"},
            )
        )

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers if a.status_code not in (200, 201)] == []
    assert len({a.json()["number"] for a in answers}) == 1
    assert case_total(service) == cases + 1
    assert len(photo_files(service)) == files + 2


def test_same_idempotency_key_of_another_reporter_makes_its_own_case(service):
    headers = {"Idempotency-Key": "shared-key-0c41"}
    mine = post_report(
        service.as_("deputy"), [("photos", photo("hopper.jpg"))], headers=headers
    )
    theirs = post_report(
        service.as_("other-deputy"), [("photos", photo("hopper.jpg"))], headers=headers
    )

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["number"] != theirs.json()["number"]
    assert theirs.json()["reporter"] == "other-deputy"


def test_refused_report_does_not_use_up_its_idempotency_key(service):
    deputy = service.as_("deputy")
    headers = {"Idempotency-Key": "after-refusal-51c3"}
    with nothing_stored(service):
        refused = post_report(
            deputy, [("photos", photo("truncated_jpeg.jpg"))], headers=headers
        )
    assert_error(refused, 422, "photos")

    accepted = post_report(deputy, [("photos", photo("hopper.jpg"))], headers=headers)

    assert accepted.status_code == 201, accepted.text


# Cases and photos of others


def test_reporter_cannot_see_another_reporters_case(service):
    number = new_case(service)
    case = service.as_("deputy").case(number)
    other = service.as_("other-deputy")

    assert_error(other.get(f"/api/v1/cases/{number}"), 404)
    assert_error(other.get(case["photos"][0]["url"]), 404)
    assert_error(other.get(case["photos"][0]["thumbnail_url"]), 404)
    listed = other.get("/api/v1/cases").json()["items"]
    assert number not in [item["number"] for item in listed]


def test_unknown_case_is_not_found(service):
    assert_error(service.as_("admin").get("/api/v1/cases/SSP-19990101-99999"), 404)


# Completing triage tasks


def test_dispatch_with_no_department_to_be_found_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    # 'other' has no department in the catalogue, so one must be named.
    response = service.as_("office").complete(
        task["id"], decision="dispatch", category="other"
    )

    assert_error(response, 422, "department")
    assert_still_open(service, number, task, "triage")
    assert triage_task(service, number)["id"] == task["id"]


def test_unknown_decision_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(task["id"], decision="shrug")

    assert_error(response, 422, "decision")
    assert_still_open(service, number, task, "triage")


def test_completion_without_decision_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(task["id"], note="no decision here")

    assert_error(response, 422, "decision")
    assert_still_open(service, number, task, "triage")


@pytest.mark.parametrize(
    "body",
    ['{"decision": "dispatch", ', "not json at all", "\xff\xfe", "[1, 2]", "null"],
)
def test_malformed_json_body_is_a_json_client_error(service, body):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").post(
        f"/api/v1/tasks/{task['id']}/complete",
        data=body.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500, response.text
    assert_error(response, response.status_code)
    assert_still_open(service, number, task, "triage")


def test_second_complete_of_the_same_task_conflicts(service):
    number = new_case(service)
    task = triage_task(service, number)
    office = service.as_("office")
    first = office.complete(task["id"], decision="reject", reason="not our district")
    assert first.status_code == 200, first.text

    again = office.complete(task["id"], decision="reject", reason="not our district")

    assert_error(again, 409)
    case = service.as_("admin").case(number)
    assert case["status"] == "rejected"
    assert [e["action"] for e in case["timeline"]].count("rejected") == 1


def test_dispatch_to_unknown_department_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(
        task["id"],
        decision="dispatch",
        category="water-environment",
        department="ministry-of-magic",
    )

    assert_error(response, 422, "department")
    assert_still_open(service, number, task, "triage")


def test_dispatch_to_unknown_category_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(
        task["id"], decision="dispatch", category="dragons", department="water"
    )

    assert_error(response, 422, "category")
    assert_still_open(service, number, task, "triage")


def test_merge_into_nonexistent_case_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(
        task["id"], decision="merge", duplicate_of="SSP-19990101-99999"
    )

    assert_error(response, 422, "duplicate_of")
    assert_still_open(service, number, task, "triage")


def test_merge_into_itself_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(
        task["id"], decision="merge", duplicate_of=number
    )

    assert_error(response, 422, "duplicate_of")
    assert_still_open(service, number, task, "triage")


@pytest.mark.parametrize(
    ("decision", "why"), [("reject", "was rejected"), ("merge", "merge into that")]
)
def test_merge_into_a_case_that_is_no_longer_one_is_refused(service, decision, why):
    office = service.as_("office")
    earliest, target, number = new_case(service), new_case(service), new_case(service)
    ended = {"reject": {"reason": "not ours"}, "merge": {"duplicate_of": earliest}}
    done = office.complete(
        triage_task(service, target)["id"], decision=decision, **ended[decision]
    )
    assert done.status_code == 200, done.text
    task = triage_task(service, number)

    response = office.complete(task["id"], decision="merge", duplicate_of=target)

    body = assert_error(response, 422, "duplicate_of")
    assert why in body["errors"]["duplicate_of"][0]
    assert_still_open(service, number, task, "triage")


def test_transfer_to_unknown_partner_is_refused(service):
    number = new_case(service)
    task = triage_task(service, number)

    response = service.as_("office").complete(
        task["id"], decision="transfer", partner="the-moon"
    )

    assert_error(response, 422, "partner")
    assert_still_open(service, number, task, "triage")
    assert service.as_("admin").case(number)["partner"] is None


def test_unknown_task_is_not_found(service):
    office = service.as_("office")

    assert_error(office.complete(987654, decision="reject", reason="x"), 404)
    assert_error(office.post("/api/v1/tasks/987654/claim"), 404)
    assert_error(office.post("/api/v1/tasks/987654/release"), 404)


# Completing handle tasks


def test_handler_of_another_department_can_neither_work_nor_see_the_case(service):
    number, task = dispatched_case(service, department="water")
    housing = service.as_("housing-liaison")

    response = housing.complete(
        task["id"],
        photos=["rocket.jpg"],
        decision="done",
        result="not ours, but done anyway",
    )

    assert response.status_code in (403, 404), response.text
    assert_error(response, response.status_code)
    assert_error(housing.get(f"/api/v1/cases/{number}"), 404)
    assert_error(
        housing.post(f"/api/v1/tasks/{task['id']}/claim"), response.status_code
    )
    assert_still_open(service, number, task, "handling")


def test_done_without_photo_is_refused_and_task_stays_open(service):
    number, task = dispatched_case(service)

    response = service.as_("water-liaison").complete(
        task["id"], decision="done", result="Cleared and cleaned"
    )

    assert_error(response, 422, "photos")
    assert_still_open(service, number, task, "handling")


def test_done_without_result_is_refused_naming_result(service):
    number, task = dispatched_case(service)

    with nothing_stored(service):
        response = service.as_("water-liaison").complete(
            task["id"], photos=["rocket.jpg"], decision="done"
        )

    assert_error(response, 422, "result")
    assert_still_open(service, number, task, "handling")


def test_done_with_a_broken_photo_stores_no_photo(service):
    number, task = dispatched_case(service)

    with nothing_stored(service):
        response = service.as_("water-liaison").complete(
            task["id"],
            photos=["rocket.jpg", "truncated_jpeg.jpg"],
            decision="done",
            result="Cleared and cleaned",
        )

    assert_error(response, 422, "photos")
    assert_still_open(service, number, task, "handling")
    assert [p["kind"] for p in service.as_("admin").case(number)["photos"]] == [
        "report"
    ]


def test_done_with_ten_photos_is_refused(service):
    number, task = dispatched_case(service)

    with nothing_stored(service):
        response = service.as_("water-liaison").complete(
            task["id"],
            photos=["hopper.jpg"] * 10,
            decision="done",
            result="Cleared and cleaned",
        )

    assert_error(response, 422, "photos")
    assert_still_open(service, number, task, "handling")


def test_triage_decision_on_a_handle_task_is_refused(service):
    number, task = dispatched_case(service)

    response = service.as_("water-liaison").complete(
        task["id"], decision="dispatch", category="noise", department="housing"
    )

    assert_error(response, 422, "decision")
    assert_still_open(service, number, task, "handling")


# Queues


def test_unknown_queue_is_refused(service):
    response = service.as_("office").get("/api/v1/tasks", params={"queue": "bogus"})

    assert_error(response, 422, "queue")


def test_all_queue_is_forbidden_to_triage(service):
    response = service.as_("office").get("/api/v1/tasks", params={"queue": "all"})

    assert_error(response, 403)


def test_all_queue_is_open_to_supervisors(service):
    response = service.as_("supervisor").get("/api/v1/tasks", params={"queue": "all"})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "params",
    [{"page": "0"}, {"per_page": "1000"}, {"status": "lost"}, {"page": "first"}],
)
def test_bad_case_list_filters_are_refused(service, params):
    response = service.as_("deputy").get("/api/v1/cases", params=params)

    assert_error(response, 422, *params)


# Numbers and shapes no row, page or cursor can have

PAST_64_BITS = str(2**63)
# PostgreSQL's INTEGER ends here; SQLite's would hold it.
PAST_32_BITS = str(2**31)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tasks/{id}"),
        ("post", "/api/v1/tasks/{id}/claim"),
        ("put", "/api/v1/tasks/{id}/draft"),
        ("get", "/api/v1/photos/{id}"),
        ("get", "/api/v1/catalogue/versions/{id}"),
        ("delete", "/api/v1/filters/{id}"),
        ("post", "/api/v1/extensions/{id}/decision"),
    ],
)
@pytest.mark.parametrize("number", [PAST_32_BITS, PAST_64_BITS, "\u0661", "\uff11"])
def test_an_id_past_the_id_columns_or_not_in_ascii_digits_names_nothing(
    service, method, path, number
):
    office = service.as_("office")

    response = getattr(office, method)(path.format(id=number), json={})

    assert_error(response, 404)


def test_a_page_past_any_offset_is_refused_naming_page(service):
    response = service.as_("deputy").get("/api/v1/cases", params={"page": str(2**62)})

    assert_error(response, 422, "page")


@pytest.mark.parametrize(
    "key",
    [
        '["due", "not a date", 1]',
        "5",
        '["due", null, "1"]',
        '["due", null, true]',
        f'["due", null, {2**63}]',
        f'["due", null, {2**31}]',
        '["priority", 0, "2026-12-07T09:00:00", 1]',
        '["age", "2026-12-07T09:00:00", 1]',
        '["due", "2026-12-07T09:00:00", 1]',
        '["age", 7, 1]',
        '["priority", 0, "2026-12-01T00:00:00+00:00"]',
    ],
)
def test_a_forged_cursor_is_refused_naming_after(service, key):
    cursor = base64.urlsafe_b64encode(key.encode()).decode()
    sort = json.loads(key)[0] if key.startswith("[") else "due"

    response = service.as_("office").get(
        "/api/v1/tasks", params={"sort": sort, "after": cursor}
    )

    assert_error(response, 422, "after")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"decision": "dispatch", "count": NaN}', "json.count"),
        ('{"decision": "dispatch", "counts": [1, -Infinity]}', "json.counts.1"),
        ('{"decision": "dispatch", "form": {"weight": Infinity}}', "json.form.weight"),
    ],
)
def test_nan_and_infinity_in_a_json_body_are_refused_naming_where(service, body, field):
    number = service.as_("deputy").report().json()["number"]
    task = triage_task(service, number)

    response = service.as_("office").post(
        f"/api/v1/tasks/{task['id']}/complete",
        data=body,
        headers={"Content-Type": "application/json"},
    )

    assert_error(response, 422, field)
    assert service.as_("office").case(number)["status"] == "triage"


def test_json_nested_too_deeply_is_a_client_error(service):
    deep = "[" * 100_000 + "]" * 100_000

    response = service.as_("office").post(
        "/api/v1/tasks/1/complete",
        data=deep,
        headers={"Content-Type": "application/json"},
    )

    assert_error(response, 400)


@pytest.mark.parametrize(
    "entry",
    [
        {"category": "noise", "department": "water", "street": 5},
        {"category": ["noise"], "department": "water"},
        "noise->water",
    ],
)
def test_a_catalogue_entry_of_the_wrong_shape_is_refused_naming_it(service, entry):
    before = service.as_("admin").get("/api/v1/catalogue").json()["version"]

    response = service.as_("admin").put("/api/v1/catalogue", json={"entries": [entry]})

    assert_error(response, 422, "entries", "0")
    assert service.as_("admin").get("/api/v1/catalogue").json()["version"] == before


def test_a_bad_photo_and_a_missing_field_are_both_named(service):
    number, task = dispatched_case(service)

    with nothing_stored(service):
        response = service.as_("water-liaison").post(
            f"/api/v1/tasks/{task['id']}/complete",
            data={"decision": "done"},
            files=[("photos", TEXT_AS_JPEG)],
        )

    assert_error(response, 422, "result", "photos")
    assert_still_open(service, number, task, "handling")


def test_a_saved_filter_with_a_key_no_queue_reads_is_refused(service):
    office = service.as_("office")

    response = office.post(
        "/api/v1/filters", json={"name": "odd", "params": {"bogus": 1}}
    )

    assert_error(response, 422, "params", "bogus")
    assert "odd" not in [f["name"] for f in office.get("/api/v1/filters").json()]


def test_delegating_a_task_to_oneself_is_refused(service):
    number, task = dispatched_case(service)
    water = service.as_("water-liaison")
    assert water.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200

    response = water.post(
        f"/api/v1/tasks/{task['id']}/delegate", json={"user": "water-liaison"}
    )

    assert_error(response, 422, "user")
    actions = [e["action"] for e in service.as_("admin").case(number)["timeline"]]
    assert "delegated" not in actions


# Text no column holds, dates no calendar holds, limits no clock reaches


def test_a_nul_character_in_a_report_is_refused_naming_the_field(service):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", photo("hopper.jpg"))], street="a\x00b"
        )
    assert_error(response, 422, "street")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/filters", {"name": "n\u0000", "params": {}}, "json.name"),
        ("get", "/api/v1/tasks?q=a%00b", None, "q"),
    ],
)
def test_a_nul_character_anywhere_in_text_is_refused(
    service, method, path, body, field
):
    response = getattr(service.as_("office"), method)(path, json=body)

    assert_error(response, 422, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"name": "\\ud800", "params": {}}', "json.name"),
        (b'{"name": "ok", "params": {"q": "a\\udfffb"}}', "json.params.q"),
    ],
)
def test_a_lone_surrogate_in_json_is_refused_and_nothing_is_kept(service, body, field):
    office = service.as_("office")
    headers = {"Content-Type": "application/json"}

    response = office.post("/api/v1/filters", data=body, headers=headers)

    assert_error(response, 422, field)
    assert office.get("/api/v1/filters").json() == []


@pytest.mark.parametrize("path", ["/api/v1/filters", "/api/v1/tasks/1/complete"])
def test_a_json_number_too_long_to_read_is_refused(service, path):
    body = b'{"name": "n", "decision": 1' + b"9" * 5000 + b', "params": {}}'

    response = service.as_("office").post(
        path, data=body, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 422, "json")
    assert "digits" in response.json()["errors"]["json"][0]


@pytest.mark.parametrize("text", ["a\x01b", "bell\x07", "esc\x1b[0m"])
def test_a_control_character_in_a_report_is_refused(service, text):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"), [("photos", photo("hopper.jpg"))], address=text
        )
    assert_error(response, 422, "address")


def test_tabs_and_line_breaks_in_a_description_are_kept(service):
    response = post_report(
        service.as_("deputy"),
        [("photos", photo("hopper.jpg"))],
        description="Bikes:\r\n\t- by exit C",
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "Bikes:\r\n\t- by exit C"


def test_an_idempotency_key_longer_than_kept_is_refused(service):
    with nothing_stored(service):
        response = post_report(
            service.as_("deputy"),
            [("photos", photo("hopper.jpg"))],
            headers={"Idempotency-Key": "k" * 121},
        )
    assert_error(response, 422, "Idempotency-Key")


def test_a_nul_character_in_a_path_names_nothing(service):
    assert_error(service.as_("office").get("/api/v1/cases/a%00b"), 404)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/tasks?due_before=0001-01-01", "due_before"),
        ("/api/v1/tasks?due_before=9999-12-31T23:59:59-14:00", "due_before"),
        ("/api/v1/stats?from=0001-01-01&to=9999-12-31", "from"),
        ("/api/v1/stats?from=2026-01-01&to=9999-12-31", "to"),
    ],
)
def test_a_date_at_the_edge_of_the_calendar_is_refused(service, path, field):
    response = service.as_("supervisor").get(path)

    assert_error(response, 422, field)


def test_an_extension_to_the_end_of_the_calendar_is_refused(service):
    _, task = dispatched_case(service)
    water = service.as_("water-liaison")

    response = water.post(
        f"/api/v1/tasks/{task['id']}/extension",
        json={"reason": "parts on order", "until": "9999-12-31T23:59:59+00:00"},
    )

    assert_error(response, 422, "until")


@pytest.mark.parametrize("limit", ["1e308 hours", "inf hours", "1500 working_days"])
def test_a_time_limit_past_a_year_is_refused(service, limit):
    admin = service.as_("admin")
    before = admin.get("/api/v1/categories").json()

    response = admin.patch(
        "/api/v1/categories/noise", json={"limits": {"handling": limit}}
    )

    assert_error(response, 422, "amount")
    assert admin.get("/api/v1/categories").json() == before


def test_a_version_past_64_bits_is_refused(service):
    response = service.as_("designer").get(
        "/api/v1/definitions/case_loop/diff", params={"from": "1", "to": PAST_64_BITS}
    )

    assert_error(response, 422, "to")


def test_only_an_admin_moves_the_test_clock(service):
    response = service.as_("deputy").post(
        "/api/v1/testing/clock", json={"advance_seconds": 1}
    )

    assert_error(response, 403)


def test_the_test_clock_refuses_a_leap_past_the_calendar(service):
    response = service.as_("admin").post(
        "/api/v1/testing/clock", json={"advance_seconds": 1e300}
    )

    assert_error(response, 422, "advance_seconds")
    assert service.as_("deputy").get("/api/v1/cases").status_code == 200


def test_a_catalogue_street_longer_than_a_reports_is_refused(service):
    entry = {"category": "noise", "department": "water", "street": "x" * 81}

    response = service.as_("admin").put("/api/v1/catalogue", json={"entries": [entry]})

    assert_error(response, 422, "entries", "0")


def test_a_saved_filter_keeps_no_page_cursor(service):
    response = service.as_("office").post(
        "/api/v1/filters", json={"name": "paged", "params": {"after": "NQ=="}}
    )

    assert_error(response, 422, "params", "after")


def test_no_refusal_was_an_unexpected_error(service):
    # Runs last in this module: every request above was refused on purpose.
    assert "unexpected error" not in service.log()
    assert "Traceback" not in service.log()


def test_a_photo_whose_file_is_missing_here_answers_404_for_it_and_its_thumbnail(
    service,
):
    deputy = service.as_("deputy")
    case = deputy.report().json()
    for stored in (service.instance_dir / "photos" / case["number"]).iterdir():
        stored.unlink()  # as on a machine that does not share the photo folder

    photo = case["photos"][0]["id"]
    for path in (f"/api/v1/photos/{photo}", f"/api/v1/photos/{photo}/thumbnail"):
        assert_error(deputy.get(path), 404)
    assert "photo file missing" in service.log()
