"""Staff work over HTTP: the dispatch catalogue, queue filters and counts, saved
filters, reassigning and delegating, drafts, idempotent completions, arbitration."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

TIANHE = (23.1291, 113.3612)


def _report(service, who="deputy", **form):
    response = service.as_(who).report(**form)
    assert response.status_code == 201, response.text
    return response.json()["number"]


def _triage(service, number):
    return service.as_("office").task_of(number, "triage")


def _timeline(service, number):
    return [e["action"] for e in service.as_("supervisor").case(number)["timeline"]]


def test_triage_accepts_the_catalogue_suggestion_in_one_action(service):
    number = _report(service, category="noise")
    task = _triage(service, number)
    office = service.as_("office")

    detail = office.get(f"/api/v1/tasks/{task['id']}").json()
    assert detail["suggestion"]["department"] == "city-management"
    assert [d["name"] for d in detail["form"]["decisions"]][0] == "dispatch"

    case = office.complete(task["id"], decision="dispatch", category="noise").json()
    assert case["department"] == "city-management"
    dispatched = next(e for e in case["timeline"] if e["action"] == "dispatched")
    assert dispatched["details"]["as_suggested"] is True
    assert dispatched["details"]["catalogue_version"] >= 1


def test_admin_publishes_a_catalogue_version_that_routes_by_street(own_service):
    service = own_service
    admin = service.as_("admin")
    entries = admin.get("/api/v1/catalogue").json()["entries"]
    entries.append(
        {"category": "noise", "street": "Shipai 石牌", "department": "housing"}
    )

    refused = service.as_("office").put("/api/v1/catalogue", json={"entries": entries})
    bad = admin.put(
        "/api/v1/catalogue",
        json={"entries": [{"category": "noise", "department": "nobody"}]},
    )
    published = admin.put(
        "/api/v1/catalogue",
        json={"entries": entries, "note": "Shipai noise to housing"},
    )

    assert refused.status_code == 403
    assert bad.status_code == 422 and "entries" in bad.json()["errors"]
    assert published.status_code == 201, published.text
    version = published.json()["version"]
    in_shipai = _report(service, category="noise", street="Shipai 石牌")
    typed_loosely = _report(service, category="noise", street="  shipai 石牌 ")
    elsewhere = _report(service, category="noise", street="Linhe 林和")
    office = service.as_("office")
    routed = (
        (in_shipai, "housing"),
        (typed_loosely, "housing"),
        (elsewhere, "city-management"),
    )
    for number, department in routed:
        task = _triage(service, number)
        suggestion = office.get(f"/api/v1/tasks/{task['id']}").json()["suggestion"]
        assert (suggestion["department"], suggestion["catalogue_version"]) == (
            department,
            version,
        )
    assert service.as_("admin").case(typed_loosely)["street"] == "shipai 石牌"
    versions = office.get("/api/v1/catalogue/versions").json()
    assert [v["version"] for v in versions][:2] == [version, version - 1]
    again = admin.put("/api/v1/catalogue", json={"entries": entries})
    assert again.status_code == 200 and again.json()["version"] == version


def test_queue_filters_narrow_by_category_street_text_and_place(service):
    office = service.as_("office")
    bikes = _report(
        service,
        category="shared-bikes",
        street="Tianhe North",
        description="Bikes heaped by exit C",
        lat=str(TIANHE[0]),
        lng=str(TIANHE[1]),
    )
    far = _report(
        service, category="shared-bikes", lat=str(TIANHE[0] + 0.2), lng=str(TIANHE[1])
    )

    def numbers(**params):
        page = office.get("/api/v1/tasks", params={"limit": 500, **params})
        assert page.status_code == 200, page.text
        return {t["case_number"] for t in page.json()["items"]}

    assert {bikes, far} <= numbers(category="shared-bikes")
    assert numbers(street="Tianhe North") == {bikes}
    assert numbers(street=" tianhe north ") == {bikes}
    school = _report(
        service,
        category="noise",
        street="ÉCOLE Tianhe",
        description="Ünïcödé sign 100% broken",
    )
    assert numbers(street="école tianhe") == {school}
    # Text is matched as typed, whatever its case; % and _ are no wildcards.
    assert numbers(q="ünïcödé") == {school}
    assert school in numbers(q="100%") and bikes not in numbers(q="100%")
    assert numbers(q="%_%") == set()
    assert bikes in numbers(q="exit C") and far not in numbers(q="exit C")
    near = numbers(near=f"{TIANHE[0]},{TIANHE[1]}", within_m=500)
    assert bikes in near and far not in near
    assert bikes not in numbers(overdue="true")
    # A moment without an offset is read on the district's clock, as on the page.
    due = datetime.fromisoformat(_triage(service, bikes)["due_at"])
    local = due.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert bikes in numbers(due_before=(local + timedelta(minutes=1)).isoformat())
    assert bikes not in numbers(due_before=(local - timedelta(minutes=1)).isoformat())
    assert office.get("/api/v1/tasks", params={"near": "north"}).status_code == 422


def test_queue_sorts_by_age_and_pages_the_same_way(service):
    office = service.as_("office")
    numbers = [_report(service) for _ in range(3)]

    seen, after = [], None
    while True:
        params = {"sort": "age", "limit": 2, **({"after": after} if after else {})}
        page = office.get("/api/v1/tasks", params=params).json()
        seen += [t["case_number"] for t in page["items"]]
        after = page["next"]
        if after is None:
            break

    ours = [n for n in seen if n in numbers]
    assert ours == sorted(numbers)
    assert len(seen) == len(set(seen))


def test_counts_per_queue(service):
    number = _report(service)
    office = service.as_("office")
    before = office.get("/api/v1/tasks/counts").json()
    office.post(f"/api/v1/tasks/{_triage(service, number)['id']}/claim")

    after = office.get("/api/v1/tasks/counts").json()

    assert after["available"] == before["available"] - 1
    assert after["mine"] == before["mine"] + 1
    assert "all" not in after
    assert "all" in service.as_("supervisor").get("/api/v1/tasks/counts").json()


def test_saved_filters_belong_to_their_user(service):
    office = service.as_("office")

    saved = office.post(
        "/api/v1/filters",
        json={
            "name": "Late bikes",
            "params": {"category": "shared-bikes", "overdue": True},
        },
    )
    bad = office.post("/api/v1/filters", json={"name": "x", "params": {"sort": "?"}})

    assert saved.status_code == 201, saved.text
    assert bad.status_code == 422
    assert [f["name"] for f in office.get("/api/v1/filters").json()] == ["Late bikes"]
    assert service.as_("admin").get("/api/v1/filters").json() == []
    assert (
        service.as_("admin").delete(f"/api/v1/filters/{saved.json()['id']}").status_code
        == 404
    )
    assert office.delete(f"/api/v1/filters/{saved.json()['id']}").status_code == 204
    assert office.get("/api/v1/filters").json() == []


def test_tasks_are_reassigned_and_delegated_on_the_timeline(service):
    number = _report(service)
    task = _triage(service, number)
    office = service.as_("office")
    office.post(f"/api/v1/tasks/{task['id']}/claim")

    delegated = office.post(
        f"/api/v1/tasks/{task['id']}/delegate", json={"user": "office-2"}
    )
    not_holder = office.post(
        f"/api/v1/tasks/{task['id']}/delegate", json={"user": "office"}
    )
    wrong_role = service.as_("supervisor").post(
        f"/api/v1/tasks/{task['id']}/assign", json={"user": "water-liaison"}
    )
    reassigned = service.as_("supervisor").post(
        f"/api/v1/tasks/{task['id']}/assign", json={"user": "office"}
    )

    assert delegated.status_code == 200, delegated.text
    assert delegated.json()["assignee"] == "office-2"
    assert not_holder.status_code == 403
    assert wrong_role.status_code == 422
    assert reassigned.json()["assignee"] == "office"
    assert {"delegated", "assigned"} <= set(_timeline(service, number))


def test_a_draft_is_kept_until_the_task_is_completed(service):
    number = _report(service)
    task = _triage(service, number)
    office = service.as_("office")

    saved = office.http.put(
        f"{office.base_url}/api/v1/tasks/{task['id']}/draft",
        json={"decision": "reject", "reason": "Private yard"},
    )
    assert saved.status_code == 200, saved.text
    assert office.get(f"/api/v1/tasks/{task['id']}").json()["draft"] == {
        "decision": "reject",
        "reason": "Private yard",
    }
    assert service.as_("supervisor").case(number)["status"] == "triage"

    office.complete(task["id"], decision="reject", reason="Private yard")
    assert office.get(f"/api/v1/tasks/{task['id']}").json()["draft"] is None


def test_a_retried_completion_is_answered_once_and_applied_once(service):
    number = _report(service)
    task = _triage(service, number)
    office = service.as_("office")
    body = {"decision": "dispatch", "category": "noise"}
    headers = {"Idempotency-Key": f"dispatch-{number}"}
    url = f"/api/v1/tasks/{task['id']}/complete"

    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: office.post(url, json=body, headers=headers), range(4))
        )
    again = office.post(url, json=body, headers=headers)

    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert {a.json()["number"] for a in [*answers, again]} == {number}
    assert _timeline(service, number).count("dispatched") == 1
    other = _triage(service, _report(service))
    reused = office.post(
        f"/api/v1/tasks/{other['id']}/complete", json=body, headers=headers
    )
    assert reused.status_code == 409
    changed = office.post(
        url, json={"decision": "reject", "reason": "x"}, headers=headers
    )
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["errors"]


@pytest.mark.parametrize("outcome", ["dispatch", "to_triage"])
def test_third_return_goes_to_arbitration_not_back_into_the_loop(own_service, outcome):
    service = own_service
    number = _report(service, category="shared-bikes")
    office, liaison = service.as_("office"), service.as_("traffic-liaison")
    for _ in range(3):
        task = _triage(service, number)
        office.complete(task["id"], decision="dispatch", category="shared-bikes")
        handle = liaison.task_of(number, "handle")
        liaison.complete(handle["id"], decision="return", reason="Not ours")

    supervisor = service.as_("supervisor")
    arbitrate = supervisor.task_of(number, "arbitrate")
    case = supervisor.case(number)
    assert not [t for t in office.queue() if t["case_number"] == number]
    assert case["escalation_level"] == 3
    assert case["deadline"]["paused"] is True

    service.advance_clock(10 * 3600)  # arbitration time is not triage's time
    assert supervisor.case(number)["deadline"]["used_hours"] < 1
    if outcome == "dispatch":
        done = supervisor.complete(
            arbitrate["id"],
            decision="dispatch",
            category="shared-bikes",
            department="city-management",
        )
        assert done.json()["status"] == "handling"
        assert done.json()["department"] == "city-management"
    else:
        done = supervisor.complete(
            arbitrate["id"], decision="to_triage", reason="Triage must look again"
        )
        assert done.json()["status"] == "triage"
        assert done.json()["deadline"]["paused"] is False
    assert "arbitrated" in _timeline(service, number)
