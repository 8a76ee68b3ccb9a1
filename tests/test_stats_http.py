"""GET /api/v1/stats on a known set of cases worked over HTTP with the test clock."""

import pytest

from tests.supervision_cases import build

APPROX = {"abs": 0.02}


@pytest.fixture(scope="module")
def scenario(service):
    return build(service)


def _stats(service, scenario, **params):
    response = service.as_("supervisor").get(
        "/api/v1/stats", params={**scenario.period, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_totals_give_each_rate_its_exact_value(service, scenario):
    totals = _stats(service, scenario)["totals"]

    assert (totals["received"], totals["closed"]) == (5, 3)
    # Due to close: A, B and E closed, C and D open past their deadlines.
    assert (totals["due"], totals["deferred"], totals["on_time"]) == (5, 0, 2)
    assert totals["on_time_rate"] == pytest.approx(2 / 5)
    assert totals["closure_rate"] == pytest.approx(3 / 5)
    assert totals["fixed_quickly"] == 2
    assert totals["quick_rate"] == pytest.approx(2 / 5)
    assert (totals["handled"], totals["disputed"]) == (4, 1)
    assert totals["rework_rate"] == pytest.approx(1 / 4)
    assert totals["returns"] == 1
    assert totals["satisfaction"] == pytest.approx(3 / 4)


def test_stage_times_come_from_the_closed_stage_rows(service, scenario):
    stages = _stats(service, scenario)["totals"]["stages"]

    # Handling: A, C (returned), E at once, B after 5 hours and again at once.
    handling = stages["handling"]
    assert handling["count"] == 5
    assert handling["mean_hours"] == pytest.approx(1.0, **APPROX)
    assert handling["p90_hours"] == pytest.approx(3.0, **APPROX)
    # Confirmation: A and B (twice: disputed, then confirmed) at once, E after 25 h.
    confirming = stages["confirming"]
    assert confirming["count"] == 4
    assert confirming["mean_hours"] == pytest.approx(25 / 4, **APPROX)
    assert confirming["p90_hours"] == pytest.approx(0.7 * 25, **APPROX)
    assert stages["triage"]["count"] == 5


def test_a_longer_quick_limit_counts_the_case_closed_after_a_day(service, scenario):
    totals = _stats(service, scenario, quick_hours=48)["totals"]
    assert totals["quick_rate"] == pytest.approx(3 / 5)


def test_figures_by_department_separate_the_untriaged_case(service, scenario):
    body = _stats(service, scenario, by="department")
    groups = {group["key"]: group for group in body["groups"]}

    assert set(groups) == {"traffic-police", None}
    police = groups["traffic-police"]
    assert (police["received"], police["closed"], police["on_time"]) == (4, 3, 2)
    assert police["on_time_rate"] == pytest.approx(2 / 4)
    assert police["label"] == "交警 Traffic police"
    untriaged = groups[None]
    assert (untriaged["received"], untriaged["due"], untriaged["on_time_rate"]) == (
        1,
        1,
        0.0,
    )
    assert body["by"] == "department"
    assert body["period"] == {**scenario.period, "days": 3}


def test_figures_by_category_and_by_street(service, scenario):
    by_category = _stats(service, scenario, by="category")["groups"]
    assert [g["key"] for g in by_category] == ["shared-bikes"]
    assert by_category[0]["received"] == 5

    streets = {g["key"]: g for g in _stats(service, scenario, by="street")["groups"]}
    assert set(streets) == {"福田街道", "南园街道"}
    futian, nanyuan = streets["福田街道"], streets["南园街道"]
    assert (futian["received"], futian["closed"], futian["due"]) == (3, 2, 3)
    assert futian["on_time_rate"] == pytest.approx(1 / 3)
    assert futian["label"] == "福田街道"
    assert (nanyuan["received"], nanyuan["closed"], nanyuan["on_time"]) == (2, 1, 1)
    assert nanyuan["on_time_rate"] == pytest.approx(1 / 2)
    assert (futian["rework_rate"], nanyuan["rework_rate"]) == (pytest.approx(1 / 3), 0)


def test_a_period_before_the_cases_counts_nothing(service, scenario):
    body = _stats(service, scenario, **{"from": "2020-01-01", "to": "2020-01-31"})
    assert body["totals"]["received"] == 0
    assert body["totals"]["on_time_rate"] is None
    assert body["groups"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "colour"}, "by"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"quick_hours": "0"}, "quick_hours"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(service, params, field):
    response = service.as_("supervisor").get("/api/v1/stats", params=params)
    assert response.status_code == 422, response.text
    assert field in str(response.json()["errors"])


@pytest.mark.parametrize("user", ["deputy", "office", "water-liaison", "designer"])
def test_only_supervisors_see_the_figures(service, user):
    assert service.as_(user).get("/api/v1/stats").status_code == 403
    assert service.as_("admin").get("/api/v1/stats").status_code == 200


def test_a_return_counts_for_the_department_that_sent_it_back(own_service):
    office = own_service.as_("office")
    number = own_service.as_("deputy").report().json()["number"]
    for department in ("housing", "water"):
        triage = office.task_of(number, "triage")
        dispatched = office.complete(
            triage["id"],
            decision="dispatch",
            category="water-environment",
            department=department,
        )
        assert dispatched.status_code == 200, dispatched.text
        liaison = own_service.as_(f"{department}-liaison")
        handle = liaison.task_of(number, "handle")
        returned = liaison.complete(handle["id"], decision="return", reason="Not ours")
        assert returned.status_code == 200, returned.text
    triage = office.task_of(number, "triage")
    office.complete(
        triage["id"], decision="dispatch", category="noise", department="traffic-police"
    ).raise_for_status()

    body = own_service.as_("supervisor").get(
        "/api/v1/stats", params={"by": "department"}
    )

    assert body.status_code == 200, body.text
    returns = {g["key"]: g["returns"] for g in body.json()["groups"]}
    assert returns == {"housing": 1, "water": 1, "traffic-police": 0}
    assert body.json()["totals"]["returns"] == 2
    case = own_service.as_("admin").case(number)
    assert case["return_count"] == 2
