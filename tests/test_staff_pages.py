"""Staff pages over plain HTTP: sign-in, language, CSRF, queues, forms and errors."""

import re
from datetime import datetime, timedelta

import pytest
import requests

from service.i18n import ZONE
from service.settings import Settings, SettingsError
from tests.conftest import running_service

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


class Pages:
    """A browser without JavaScript: a cookie jar, forms sent with their CSRF token."""

    def __init__(self, service, headers=None):
        self.service = service
        self.http = requests.Session()
        self.http.headers.update(headers or {})
        self.last = None

    def get(self, path, **kwargs):
        self.last = self.http.get(self.service.base_url + path, timeout=30, **kwargs)
        return self.last

    def post(self, path, data=None, files=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf()
        self.last = self.http.post(
            self.service.base_url + path, data=data, files=files, timeout=30, **kwargs
        )
        return self.last

    def csrf(self) -> str:
        if self.last is None or not CSRF.search(self.last.text):
            self.get("/signin")
        return CSRF.search(self.last.text).group(1)

    def sign_in(self, name):
        self.get("/signin")
        answer = self.post("/signin", {"token": self.service.tokens[name]})
        assert answer.status_code == 200, answer.text
        return answer


def signed_in(service, name, **options) -> Pages:
    pages = Pages(service, **options)
    pages.sign_in(name)
    return pages


def report(service, **form) -> str:
    answer = service.as_("deputy").report(**form)
    assert answer.status_code == 201, answer.text
    return answer.json()["number"]


def field_error(page_text: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page_text)
    assert found, f"no {element_id} on the page"
    return found.group(1)


# Shared bikes keep plain hours (triage 2, handling 4), whatever the time of day.
URGENT = "shared-bikes"


def dispatched(service, **form) -> str:
    """A new case of shared bikes, dispatched to the traffic police."""
    number = report(service, category=URGENT, **form)
    office = service.as_("office")
    triage = office.task_of(number, "triage")
    done = office.complete(
        triage["id"], decision="dispatch", category=URGENT, department="traffic-police"
    )
    assert done.status_code == 200, done.text
    return number


def service_now(service) -> datetime:
    return datetime.fromisoformat(service.advance_clock(0)["now"])


def typed(moment: datetime) -> str:
    """A moment as a date-time box sends it: district time, to the minute."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def read_typed(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def pending_request(service, number) -> dict:
    listed = service.as_("office").get("/api/v1/extensions?pending=true").json()
    found = [r for r in listed if r["case_number"] == number]
    assert len(found) == 1, listed
    return found[0]


def actions(service, number) -> list[str]:
    return [e["action"] for e in service.as_("supervisor").case(number)["timeline"]]


# Signing in


def test_signing_in_with_a_bad_token_is_refused_on_the_page(service):
    pages = Pages(service)
    pages.get("/signin?lang=en")

    refused = pages.post("/signin", {"token": "not-a-token"})
    after = pages.get("/staff/", allow_redirects=False)

    assert refused.status_code == 401
    assert "unknown or revoked" in field_error(refused.text, "sign-in-error")
    assert after.status_code == 302 and "/signin" in after.headers["Location"]


def test_signing_in_sets_a_signed_http_only_session_cookie(service):
    pages = Pages(service)
    pages.get("/signin")

    answer = pages.post(
        "/signin", {"token": service.tokens["office"]}, allow_redirects=False
    )

    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/staff/")
    cookie = answer.headers["Set-Cookie"]
    assert "suishoupai_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert service.tokens["office"] not in cookie


@pytest.mark.parametrize("after", ["/%0D%0ASet-Cookie: a=b", "/staff/\r\nX: y"])
def test_a_way_back_with_a_line_break_is_ignored_at_sign_in(service, after):
    pages = Pages(service)
    pages.get("/signin")

    answer = pages.post(
        f"/signin?next={after}",
        {"token": service.tokens["office"], "next": after},
        allow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/staff/")
    assert "a=b" not in answer.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_behind_https_the_cookies_are_sent_over_https_only(tmp_path, backend):
    settings = {"SUISHOUPAI_SECURE_COOKIES": "1"}
    with running_service(tmp_path, backend, settings=settings) as service:
        answer = Pages(service).get("/signin?lang=en")

    cookies = answer.raw.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} == {"suishoupai_session", "lang"}
    assert all("; Secure" in cookie for cookie in cookies), cookies


def test_a_reporter_lands_on_the_report_form_and_cannot_open_staff_pages(service):
    pages = Pages(service)
    pages.get("/signin")

    landed = pages.post("/signin", {"token": service.tokens["deputy"]})
    staff = pages.get("/staff/")

    assert landed.url.endswith("/report/")
    assert 'id="report-form"' in landed.text
    assert staff.status_code == 403


def test_sign_in_goes_back_only_to_a_page_of_this_site(service):
    pages = Pages(service)
    pages.get("/signin")

    elsewhere = pages.post(
        "/signin",
        {"token": service.tokens["office"], "next": "https://example.org/x"},
        allow_redirects=False,
    )
    pages.post("/signout")
    pages.get("/signin")
    here = pages.post(
        "/signin",
        {"token": service.tokens["office"], "next": "/staff/?queue=mine"},
        allow_redirects=False,
    )

    assert elsewhere.headers["Location"].endswith("/staff/")
    assert here.headers["Location"].endswith("/staff/?queue=mine")


def test_signing_out_ends_the_session(service):
    pages = signed_in(service, "office")

    pages.post("/signout")
    after = pages.get("/staff/", allow_redirects=False)

    assert after.status_code == 302 and "/signin" in after.headers["Location"]


def test_sessions_survive_a_restart_with_the_kept_secret(own_service):
    pages = signed_in(own_service, "office")
    secret = (own_service.instance_dir / "secret_key").read_text()

    own_service.stop()
    own_service.start()
    after = pages.get("/staff/", allow_redirects=False)

    assert len(secret.strip()) == 64
    assert (own_service.instance_dir / "secret_key").read_text() == secret
    assert after.status_code == 200 and 'id="queue-tabs"' in after.text


def test_a_short_secret_key_stops_start_up_without_showing_it():
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment({"SUISHOUPAI_SECRET_KEY": "hunter2"})

    assert "SUISHOUPAI_SECRET_KEY" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    assert "hunter2" not in repr(
        Settings.from_environment({"SUISHOUPAI_SECRET_KEY": "hunter2" * 8})
    )


# Language


def test_pages_speak_chinese_by_default_and_english_when_asked(service):
    pages = Pages(service)

    chinese = pages.get("/signin")
    english = pages.get("/signin?lang=en")
    remembered = pages.get("/signin")
    back = pages.get("/signin?lang=zh")

    assert '<html lang="zh-CN">' in chinese.text and "登录" in chinese.text
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert "lang=en" in english.headers["Set-Cookie"]
    assert '<html lang="en">' in remembered.text
    assert '<html lang="zh-CN">' in back.text


def test_the_browser_language_is_followed_without_a_choice(service):
    english = Pages(service, headers={"Accept-Language": "en-GB,en;q=0.9"})
    chinese = Pages(service, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    other = Pages(service, headers={"Accept-Language": "fr-FR"})

    assert '<html lang="en">' in english.get("/signin").text
    assert '<html lang="zh-CN">' in chinese.get("/signin").text
    assert '<html lang="zh-CN">' in other.get("/signin").text


def test_the_language_switch_keeps_the_page_and_its_filters(service):
    pages = signed_in(service, "office")

    queue = pages.get("/staff/?queue=mine&sort=age")
    link = re.search(r'id="switch-language"[^>]*href="([^"]+)"', queue.text).group(1)
    switched = pages.get(link.replace("&amp;", "&"))

    assert "queue=mine" in link and "sort=age" in link and "lang=en" in link
    assert "Task queue" in switched.text


def test_every_page_word_has_both_languages():
    from service.i18n import MESSAGES

    assert set(MESSAGES["zh"]) == set(MESSAGES["en"])


# CSRF


def test_a_form_without_its_csrf_token_is_refused(service):
    number = report(service)
    task = service.as_("office").task_of(number, "triage")
    pages = signed_in(service, "office")

    missing = pages.post(f"/staff/tasks/{task['id']}/claim", csrf=False)
    wrong = pages.post(
        f"/staff/tasks/{task['id']}/claim", {"csrf_token": "forged"}, csrf=False
    )
    stranger = Pages(service)
    stranger.get("/signin")
    other_session = stranger.post(
        "/signin", {"token": service.tokens["office"], "csrf_token": pages.csrf()}
    )

    assert missing.status_code == 400 and wrong.status_code == 400
    assert 'id="error-message"' in missing.text
    assert other_session.status_code == 400
    assert service.as_("office").task_of(number, "triage")["assignee"] is None


# The queue


def test_the_queue_shows_counts_filters_and_tasks(service):
    number = report(service, description="Drain overflowing 排水口", street="Linhe")
    pages = signed_in(service, "office")

    available = pages.get("/staff/?queue=available&street=Linhe&q=排水口")
    elsewhere = pages.get("/staff/?queue=available&street=Nowhere")

    assert available.status_code == 200
    assert f'data-case="{number}"' in available.text
    assert f'data-case="{number}"' not in elsewhere.text
    assert re.findall(r'data-queue="(\w+)"', available.text) == ["mine", "available"]


def test_a_bad_filter_is_named_on_the_queue_page(service):
    pages = signed_in(service, "office", headers={"Accept-Language": "en"})

    answer = pages.get("/staff/?status=sleeping")
    cursor = pages.get("/staff/?after=not-a-cursor")

    assert answer.status_code == 422
    assert 'id="error-status"' in answer.text
    assert cursor.status_code == 422 and 'id="page-error"' in cursor.text


def test_a_saved_filter_is_listed_and_applies(service):
    pages = signed_in(service, "office")
    pages.get("/staff/?queue=available&category=noise&sort=age")

    saved = pages.post(
        "/staff/filters",
        {"name": "Noise 噪声", "queue": "available", "category": "noise"},
    )
    listed = service.as_("office").get("/api/v1/filters").json()

    assert saved.status_code == 200
    assert 'data-filter="Noise 噪声"' in saved.text
    assert {f["name"]: f["params"] for f in listed}["Noise 噪声"] == {
        "queue": "available",
        "category": "noise",
    }


def test_cursor_paging_neither_skips_nor_repeats(own_service):
    service = own_service
    numbers = [report(service, description=f"Bench {i}") for i in range(27)]
    pages = signed_in(service, "office")

    first = pages.get("/staff/?queue=available&sort=age")
    more = re.search(r'href="([^"]+)" id="next-page"', first.text).group(1)
    second = pages.get(more.replace("&amp;", "&"))

    seen = re.findall(r'data-case="(SSP-[^"]+)"', first.text + second.text)
    assert seen == numbers
    assert 'id="next-page"' not in second.text


# A task


def test_a_decision_missing_a_field_is_shown_per_field(service):
    number = report(service)
    task = service.as_("office").task_of(number, "triage")
    pages = signed_in(service, "office", headers={"Accept-Language": "en"})
    pages.get(f"/staff/tasks/{task['id']}")

    answer = pages.post(f"/staff/tasks/{task['id']}/complete", {"decision": "reject"})

    assert answer.status_code == 422
    assert field_error(answer.text, "error-reject-reason") == "Required."
    assert re.search(r'id="decision-reject" open', answer.text)
    assert 'id="page-error"' in answer.text
    assert service.as_("office").task_of(number, "triage")["id"] == task["id"]


def test_a_handler_without_a_photo_is_told_per_field_in_chinese(service):
    number = report(service)
    office = service.as_("office")
    triage = office.task_of(number, "triage")
    office.complete(triage["id"], decision="dispatch", category="water-environment")
    handle = service.as_("water-liaison").task_of(number, "handle")
    pages = signed_in(service, "water-liaison")
    pages.get(f"/staff/tasks/{handle['id']}")

    answer = pages.post(
        f"/staff/tasks/{handle['id']}/complete",
        {"decision": "done", "result": "疏通完毕"},
        files=[("photos", ("", b"", "application/octet-stream"))],
    )

    assert answer.status_code == 422
    assert field_error(answer.text, "error-done-photos") == "至少需要 1 张照片。"
    assert "疏通完毕" in answer.text


def test_a_task_held_by_someone_else_is_a_conflict_on_the_page(service):
    number = report(service)
    task = service.as_("office").task_of(number, "triage")
    service.as_("office-2").post(f"/api/v1/tasks/{task['id']}/claim")
    pages = signed_in(service, "office", headers={"Accept-Language": "en"})
    pages.get(f"/staff/tasks/{task['id']}")

    answer = pages.post(f"/staff/tasks/{task['id']}/claim")

    assert answer.status_code == 409
    assert "held by office-2" in answer.text
    assert "Traceback" not in answer.text


def test_claim_draft_and_suggestion_dispatch_from_the_task_page(service):
    number = report(service, category="noise")
    task = service.as_("office").task_of(number, "triage")
    pages = signed_in(service, "office")
    path = f"/staff/tasks/{task['id']}"
    pages.get(path)

    claimed = pages.post(f"{path}/claim")
    drafted = pages.post(
        f"{path}/draft", {"decision": "reject", "reason": "可能是重复上报"}
    )
    pages.get(path)
    key = KEY.search(pages.last.text).group(1)
    accepted = pages.post(
        f"{path}/complete",
        {
            "decision": "dispatch",
            "category": "noise",
            "department": "city-management",
            "idempotency_key": key,
        },
    )
    again = pages.post(
        f"{path}/complete",
        {"decision": "reject", "reason": "twice", "idempotency_key": key},
    )

    assert 'data-assignee="office"' in claimed.text
    assert "可能是重复上报" in drafted.text
    assert re.search(r'id="decision-reject" open', drafted.text)
    assert accepted.status_code == 200 and number in accepted.text
    assert again.status_code == 200
    case = service.as_("office").case(number)
    assert case["status"] == "handling" and case["department"] == "city-management"
    assert [e["action"] for e in case["timeline"]].count("dispatched") == 1


def test_photos_on_pages_follow_case_permissions(service):
    number = report(service)
    photo_id = service.as_("deputy").case(number)["photos"][0]["id"]
    mine = signed_in(service, "deputy")
    theirs = signed_in(service, "other-deputy")
    nobody = Pages(service)

    assert mine.get(f"/photos/{photo_id}/thumbnail").headers["Content-Type"] == (
        "image/jpeg"
    )
    assert mine.get(f"/photos/{photo_id}").status_code == 200
    assert theirs.get(f"/photos/{photo_id}").status_code == 404
    assert nobody.get(f"/photos/{photo_id}", allow_redirects=False).status_code == 302


def test_an_upload_too_large_is_refused_with_a_page(tmp_path):
    limit = {"SUISHOUPAI_MAX_REQUEST_BYTES": "200000"}
    with running_service(tmp_path, "sqlite", settings=limit) as service:
        pages = signed_in(service, "deputy")
        pages.get("/report/")

        answer = pages.post(
            "/report/",
            {"description": "big"},
            files=[("photos", ("big.jpg", b"\0" * 300_000, "image/jpeg"))],
        )

    assert answer.status_code == 413
    assert "text/html" in answer.headers["Content-Type"]


# Extensions (延期)


def test_an_approved_extension_moves_the_deadline_and_shows_on_the_timeline(service):
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    path = f"/staff/tasks/{task['id']}"
    liaison = signed_in(service, "traffic-liaison", headers={"Accept-Language": "en"})
    shown = liaison.get(path)
    until = typed(service_now(service) + timedelta(days=2))

    asked = liaison.post(
        f"{path}/extension",
        {"reason": "Waiting for the operator's truck", "until": until},
    )
    paused = service.as_("supervisor").case(number)["deadline"]["paused"]
    request_id = pending_request(service, number)["id"]
    office = signed_in(service, "office", headers={"Accept-Language": "en"})
    waiting = office.get(path)
    approved = office.post(
        f"/staff/extensions/{request_id}/decision",
        {"approve": "true", "note": "Granted", "task_id": str(task["id"])},
    )

    assert 'id="form-extension"' in shown.text
    assert asked.status_code == 200 and asked.url.endswith(path)
    assert "Extension asked for" in asked.text
    assert f'id="extension-{request_id}" data-state="pending"' in asked.text
    assert 'id="form-extension"' not in asked.text
    assert paused is True
    assert f'id="approve-{request_id}"' in waiting.text
    assert approved.status_code == 200 and approved.url.endswith(path)
    assert f'id="extension-{request_id}" data-state="approved"' in approved.text
    new_due = read_typed(until).strftime("%Y-%m-%d %H:%M")
    assert f"now due {new_due}" in approved.text
    assert 'data-action="extension_approved"' in approved.text
    deadline = service.as_("supervisor").case(number)["deadline"]
    assert datetime.fromisoformat(deadline["due_at"]) == read_typed(until)
    assert deadline["paused"] is False
    asked_and_approved = ["extension_requested", "extension_approved"]
    assert actions(service, number)[-2:] == asked_and_approved


def test_a_refused_extension_is_decided_from_the_list_with_a_note(service):
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    path = f"/staff/tasks/{task['id']}"
    liaison = signed_in(service, "traffic-liaison")
    liaison.get(path)
    until = typed(service_now(service) + timedelta(days=3))
    liaison.post(f"{path}/extension", {"reason": "路面需要封闭施工", "until": until})
    request_id = pending_request(service, number)["id"]
    office = signed_in(service, "office")

    queue = office.get("/staff/")
    listed = office.get("/staff/extensions")
    refused = office.post(
        f"/staff/extensions/{request_id}/decision",
        {"approve": "false", "note": "四小时内可以处理完"},
    )
    seen_by_liaison = liaison.get(path)

    assert int(re.search(r'data-pending="(\d+)"', queue.text).group(1)) >= 1
    assert f'id="extension-{request_id}" data-state="pending"' in listed.text
    assert f'href="{path}" class="case-link">{number}<' in listed.text
    assert refused.status_code == 200 and refused.url.endswith("/staff/extensions")
    assert "已不同意延期申请" in refused.text
    assert f'id="extension-{request_id}" data-state="refused"' in refused.text
    assert f'id="approve-{request_id}"' not in refused.text
    assert "四小时内可以处理完" in seen_by_liaison.text
    assert f'id="extension-{request_id}" data-state="refused"' in seen_by_liaison.text
    assert 'id="form-extension"' in seen_by_liaison.text
    deadline = service.as_("supervisor").case(number)["deadline"]
    assert datetime.fromisoformat(deadline["due_at"]) < read_typed(until)
    assert actions(service, number)[-1] == "extension_refused"


def test_an_extension_that_does_not_fit_is_named_per_field_and_keeps_the_form(
    service,
):
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    path = f"/staff/tasks/{task['id']}"
    liaison = signed_in(service, "traffic-liaison", headers={"Accept-Language": "en"})
    liaison.get(path)
    too_soon = typed(service_now(service) + timedelta(hours=1))

    early = liaison.post(f"{path}/extension", {"reason": "Rain", "until": too_soon})
    empty = liaison.post(f"{path}/extension", {"reason": "  ", "until": "someday"})

    assert early.status_code == 422
    assert field_error(early.text, "error-extension-until").startswith(
        "Must be after the current deadline"
    )
    assert re.search(r'id="ask-time" open', early.text)
    assert f'value="{too_soon}"' in early.text and ">Rain</textarea>" in early.text
    assert empty.status_code == 422
    assert field_error(empty.text, "error-extension-reason") == "Required."
    assert field_error(empty.text, "error-extension-until") == (
        "Give a date and time, e.g. 2026-12-05 18:00."
    )
    assert "Traceback" not in early.text + empty.text
    assert "extension_requested" not in actions(service, number)
    assert service.as_("supervisor").case(number)["deadline"]["paused"] is False


def test_only_triage_and_supervisors_decide_an_extension(service):
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    path = f"/staff/tasks/{task['id']}"
    liaison = signed_in(service, "traffic-liaison", headers={"Accept-Language": "en"})
    liaison.get(path)
    until = typed(service_now(service) + timedelta(days=2))
    asked = liaison.post(f"{path}/extension", {"reason": "Parts", "until": until})
    request_id = pending_request(service, number)["id"]

    own = liaison.post(
        f"/staff/extensions/{request_id}/decision",
        {"approve": "true", "task_id": str(task["id"])},
    )
    office = signed_in(service, "office", headers={"Accept-Language": "en"})
    office.get("/staff/extensions")
    undecided = office.post(f"/staff/extensions/{request_id}/decision", {"note": "?"})

    assert f'id="approve-{request_id}"' not in asked.text
    assert own.status_code == 403
    assert 'data-status="403"' in own.text and "Not allowed" in own.text
    assert undecided.status_code == 422
    assert field_error(undecided.text, f"error-decide-{request_id}-approve") == (
        "Decision: Required."
    )
    assert ">?</textarea>" in undecided.text
    assert pending_request(service, number)["decided_at"] is None


def test_a_decision_naming_no_task_that_can_exist_answers_on_its_page(service):
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    liaison = signed_in(service, "traffic-liaison", headers={"Accept-Language": "en"})
    path = f"/staff/tasks/{task['id']}"
    liaison.get(path)
    until = typed(service_now(service) + timedelta(days=2))
    liaison.post(f"{path}/extension", {"reason": "Parts", "until": until})
    request_id = pending_request(service, number)["id"]
    office = signed_in(service, "office", headers={"Accept-Language": "en"})
    office.get("/staff/extensions")

    answer = office.post(
        f"/staff/extensions/{request_id}/decision", {"task_id": "9" * 30}
    )

    assert answer.status_code == 422  # the decision is missing, on the list page


# Reassigning and delegating


def test_triage_reassigns_a_triage_task_to_a_colleague(service):
    number = report(service)
    task = service.as_("office").task_of(number, "triage")
    path = f"/staff/tasks/{task['id']}"
    office = signed_in(service, "office", headers={"Accept-Language": "en"})

    shown = office.get(path)
    assigned = office.post(f"{path}/assign", {"user": "office-2"})

    assert 'id="form-handover"' in shown.text and 'id="reassign"' in shown.text
    assert '<option value="office-2">' in shown.text
    assert assigned.status_code == 200 and assigned.url.endswith(path)
    assert "reassigned to office-2" in assigned.text
    assert 'data-assignee="office-2"' in assigned.text
    assert service.as_("supervisor").task_of(number, "triage", "all")["assignee"] == (
        "office-2"
    )
    assert actions(service, number)[-1] == "assigned"


def test_a_supervisor_reassigns_to_a_liaison_who_delegates_it(service):
    service.add_user("traffic-liaison-2", "handler", "traffic-police")
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    path = f"/staff/tasks/{task['id']}"
    supervisor = signed_in(service, "supervisor")
    supervisor.get(path)

    assigned = supervisor.post(f"{path}/assign", {"user": "traffic-liaison"})
    liaison = signed_in(service, "traffic-liaison")
    held = liaison.get(path)
    delegated = liaison.post(f"{path}/delegate", {"user": "traffic-liaison-2"})

    assert 'data-assignee="traffic-liaison"' in assigned.text
    assert "任务已改派给 traffic-liaison" in assigned.text
    assert 'id="delegate"' in held.text and 'id="reassign"' not in held.text
    assert '<option value="traffic-liaison-2">' in held.text
    assert delegated.status_code == 200
    assert 'data-assignee="traffic-liaison-2"' in delegated.text
    assert "任务已转交给 traffic-liaison-2" in delegated.text
    assert 'data-action="delegated"' in delegated.text
    assert actions(service, number)[-2:] == ["assigned", "delegated"]


def test_reassigning_without_permission_or_to_a_stranger_is_explained(service):
    number = dispatched(service)
    task = service.as_("traffic-liaison").task_of(number, "handle")
    path = f"/staff/tasks/{task['id']}"
    office = signed_in(service, "office", headers={"Accept-Language": "en"})
    supervisor = signed_in(service, "supervisor", headers={"Accept-Language": "en"})
    supervisor.get(path)

    shown = office.get(path)
    refused = office.post(f"{path}/assign", {"user": "traffic-liaison"})
    not_held = office.post(f"{path}/delegate", {"user": "traffic-liaison"})
    unknown = supervisor.post(f"{path}/assign", {"user": "nobody-here"})
    elsewhere = supervisor.post(f"{path}/assign", {"user": "water-liaison"})
    blank = supervisor.post(f"{path}/assign", {"user": ""})

    assert 'id="form-handover"' not in shown.text
    assert refused.status_code == 403 and not_held.status_code == 403
    assert 'data-status="403"' in refused.text
    assert "reassigning this task needs a supervisor" in refused.text
    assert unknown.status_code == 422
    assert field_error(unknown.text, "error-handover-user") == (
        "There is no user “nobody-here”."
    )
    assert 'value="nobody-here"' in unknown.text
    assert re.search(r'id="handover" open', unknown.text)
    assert elsewhere.status_code == 422
    assert field_error(elsewhere.text, "error-handover-user") == (
        "Their role or department may not work this task."
    )
    assert blank.status_code == 422
    assert field_error(blank.text, "error-handover-user") == "Required."
    for answer in (refused, not_held, unknown, elsewhere, blank):
        assert "Traceback" not in answer.text
    handle = service.as_("supervisor").task_of(number, "handle", "all")
    assert handle["assignee"] is None
    assert "assigned" not in actions(service, number)


# Filters by position and due time


def test_the_queue_filters_by_distance_from_a_point(service):
    here = report(service, lat="31.2304", lng="121.4737", description="Near the point")
    there = report(service, lat="31.2404", lng="121.4737", description="1.1 km north")
    pages = signed_in(service, "office")

    typed_point = pages.get("/staff/?queue=available&lat=31.2304&lng=121.4737")
    narrow = pages.get("/staff/?queue=available&near=31.2304,121.4737&within_m=500")
    wide = pages.get("/staff/?queue=available&near=31.2304,121.4737&within_m=2000")

    assert typed_point.status_code == 200
    assert f'data-case="{here}"' in typed_point.text
    assert f'data-case="{there}"' not in typed_point.text
    assert 'name="lat" inputmode="decimal" autocomplete="off" value="31.2304"' in (
        typed_point.text
    )
    assert 'name="near" value="31.2304,121.4737"' in typed_point.text
    assert f'data-case="{here}"' in narrow.text
    assert f'data-case="{there}"' not in narrow.text
    assert f'data-case="{here}"' in wide.text and f'data-case="{there}"' in wide.text


def test_the_queue_filters_by_due_time_and_saves_it_with_the_point(service):
    soon = report(service, category=URGENT, lat="30.5728", lng="104.0668")
    later = report(service, category="other", lat="30.5728", lng="104.0668")
    office = service.as_("office")
    soon_due = datetime.fromisoformat(office.task_of(soon, "triage")["due_at"])
    later_due = datetime.fromisoformat(office.task_of(later, "triage")["due_at"])
    cut = typed(soon_due + timedelta(minutes=30))
    pages = signed_in(service, "office")
    point = "lat=30.5728&lng=104.0668&within_m=300"

    before = pages.get(f"/staff/?queue=available&{point}&due_before={cut}")
    saved = pages.post(
        "/staff/filters",
        {
            "name": "Chengdu, due soon",
            "queue": "available",
            "near": "30.5728,104.0668",
            "within_m": "300",
            "due_before": cut,
        },
    )
    kept = {f["name"]: f["params"] for f in office.get("/api/v1/filters").json()}
    link = re.search(r'<a href="([^"]+)" data-filter="Chengdu, due soon"', saved.text)
    again = pages.get(link.group(1).replace("&amp;", "&"))

    assert soon_due < read_typed(cut) < later_due
    assert before.status_code == 200
    assert f'data-case="{soon}"' in before.text
    assert f'data-case="{later}"' not in before.text
    assert f'name="due_before" type="datetime-local" value="{cut}"' in before.text
    assert kept["Chengdu, due soon"] == {
        "queue": "available",
        "near": "30.5728,104.0668",
        "within_m": "300",
        "due_before": read_typed(cut).isoformat(),
    }
    assert again.status_code == 200
    assert f'data-case="{soon}"' in again.text
    assert f'data-case="{later}"' not in again.text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("near=abc", "near", "Give both latitude and longitude as numbers"),
        ("lat=23.1", "near", "Give both latitude and longitude as numbers"),
        ("lat=95&lng=10", "near", "Latitude goes from -90 to 90"),
        ("near=23.1,113.3&within_m=0", "within_m", "Between 1 and 100000."),
        ("near=23.1,113.3&within_m=far", "within_m", "Enter a number."),
        ("due_before=someday", "due_before", "Give a date and time"),
    ],
)
def test_a_bad_position_or_due_filter_is_named_on_the_queue_page(
    service, query, field, message
):
    pages = signed_in(service, "office", headers={"Accept-Language": "en"})

    answer = pages.get(f"/staff/?queue=available&{query}")

    assert answer.status_code == 422
    assert field_error(answer.text, f"error-{field}").startswith(message)
    assert 'id="page-error"' in answer.text and 'id="filters" open' in answer.text
    assert "Traceback" not in answer.text


def test_a_bad_point_is_explained_in_chinese_and_not_saved(service):
    pages = signed_in(service, "office")
    pages.get("/staff/")

    shown = pages.get("/staff/?near=abc")
    saving = pages.post(
        "/staff/filters", {"name": "坏位置", "queue": "available", "near": "abc"}
    )
    kept = service.as_("office").get("/api/v1/filters").json()

    assert shown.status_code == 422
    assert field_error(shown.text, "error-near").startswith("请同时填写纬度和经度")
    assert saving.status_code == 422
    assert field_error(saving.text, "error-near").startswith("请同时填写纬度和经度")
    assert "坏位置" not in [f["name"] for f in kept]
