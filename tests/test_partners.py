"""Cases transferred to partner platforms: sent over HTTP, progress reported back."""

import pytest

from tests.conftest import BACKENDS, running_service
from tests.fakes import Receiver


@pytest.fixture(params=BACKENDS)
def partnered_service(request, tmp_path):
    platform = Receiver()
    settings = {"SUISHOUPAI_PARTNER_URLS": f"bike-platform={platform.url}"}
    try:
        with running_service(tmp_path, request.param, settings=settings) as service:
            yield service, platform
    finally:
        platform.stop()


def _transferred(service, partner="bike-platform"):
    number = service.as_("deputy").report(category="shared-bikes").json()["number"]
    office = service.as_("office")
    task = office.task_of(number, "triage")
    done = office.complete(task["id"], decision="transfer", partner=partner)
    assert done.status_code == 200, done.text
    return number


def test_transferred_case_is_sent_to_the_partner_platform(partnered_service):
    service, platform = partnered_service
    number = _transferred(service)

    service.advance_clock(0)  # runs the outbox delivery once

    [sent] = platform.received
    assert sent["kind"] == "transfer"
    assert sent["case"] == number
    assert sent["recipient"] == "partner:bike-platform"
    assert sent["category"] == "shared-bikes"


def test_partner_reports_progress_onto_the_case(partnered_service):
    service, _ = partnered_service
    number = _transferred(service)
    operator = service.as_("bike-operator")

    for status in ("accepted", "resolved"):
        update = operator.post(
            f"/api/v1/partners/cases/{number}/updates",
            json={"status": status, "note": f"bikes {status}"},
        )
        assert update.status_code == 200, update.text

    case = operator.case(number)
    assert case["partner_status"] == "resolved"
    updates = [e for e in case["timeline"] if e["action"] == "partner_update"]
    assert [u["details"]["status"] for u in updates] == ["accepted", "resolved"]
    assert updates[0]["actor"] == "bike-operator"


def test_partner_progress_only_moves_on_and_ends_once(partnered_service):
    service, _ = partnered_service
    number = _transferred(service)
    operator = service.as_("bike-operator")
    path = f"/api/v1/partners/cases/{number}/updates"

    def send(status, note=None):
        body = {"status": status} if note is None else {"status": status, "note": note}
        return operator.post(path, json=body)

    assert send("in_progress", "crew sent").status_code == 200
    backwards = send("accepted")
    assert send("resolved", "bikes moved").status_code == 200
    replayed = send("resolved", "bikes moved")
    after_end = [send("in_progress"), send("rejected"), send("resolved", "again")]

    assert backwards.status_code == 409
    assert replayed.status_code == 200
    assert {a.status_code for a in after_end} == {409}
    case = operator.case(number)
    assert case["partner_status"] == "resolved"
    updates = [e for e in case["timeline"] if e["action"] == "partner_update"]
    assert [u["details"]["status"] for u in updates] == ["in_progress", "resolved"]


def test_partner_sees_and_reports_only_its_own_cases(partnered_service):
    service, _ = partnered_service
    theirs = _transferred(service, partner="hotline-12345")
    operator = service.as_("bike-operator")

    assert operator.get(f"/api/v1/cases/{theirs}").status_code == 404
    assert (
        operator.post(
            f"/api/v1/partners/cases/{theirs}/updates", json={"status": "resolved"}
        ).status_code
        == 404
    )
    assert (
        service.as_("office")
        .post(f"/api/v1/partners/cases/{theirs}/updates", json={"status": "resolved"})
        .status_code
        == 403
    )
    bad = operator.post(
        f"/api/v1/partners/cases/{_transferred(service)}/updates",
        json={"status": "done-ish"},
    )
    assert bad.status_code == 422
