"""Reference data one process changes are in force at once in every other process.

Each service process keeps the categories, the calendar, the catalogue and the newest
diagram it read; these tests change them from another process (a worker, the CLI) and
check that no worker goes on with what it kept.
"""

from datetime import datetime

import pytest
import yaml

from tests.conftest import BACKENDS, ROOT, running_service

# Enough requests that each of the two workers answers several of them.
ROUNDS = 12


@pytest.fixture(params=BACKENDS)
def two_workers(request, tmp_path):
    with running_service(tmp_path, request.param, workers=2) as running:
        yield running


def _triage_task(service, **form) -> dict:
    number = service.as_("deputy").report(**form).json()["number"]
    return service.as_("office").task_of(number, "triage")


def _suggested(service, task_id) -> tuple[str, int]:
    answer = service.as_("office").get(f"/api/v1/tasks/{task_id}").json()
    return answer["suggestion"]["department"], answer["suggestion"]["catalogue_version"]


def test_a_catalogue_published_from_the_cli_routes_in_every_worker(two_workers):
    service = two_workers
    task = _triage_task(service, category="noise")
    before = {_suggested(service, task["id"]) for _ in range(ROUNDS)}
    entries = [{"category": "noise", "department": "housing"}]
    listing = service.instance_dir / "catalogue.yaml"
    listing.write_text(yaml.safe_dump(entries))

    published = service.cli("catalogue", "set", str(listing), "--note", "noise")
    after = {_suggested(service, task["id"]) for _ in range(ROUNDS)}

    assert published.returncode == 0, published.stderr
    assert len(before) == 1 and next(iter(before))[0] == "city-management"
    assert after == {("housing", next(iter(before))[1] + 1)}


def test_a_limit_changed_in_one_worker_times_cases_in_the_other(two_workers):
    service = two_workers
    admin = service.as_("admin")
    for _ in range(ROUNDS):
        _triage_task(service, category="shared-bikes")

    changed = admin.http.patch(
        f"{admin.base_url}/api/v1/categories/shared-bikes",
        json={"limits": {"triage": "5 hours"}},
    )
    limits = set()
    for _ in range(ROUNDS):
        task = _triage_task(service, category="shared-bikes")
        due = datetime.fromisoformat(task["due_at"])
        case = service.as_("supervisor").case(task["case_number"])
        started = datetime.fromisoformat(case["deadline"]["started_at"])
        limits.add((case["deadline"]["limit"], (due - started).total_seconds() / 3600))

    assert changed.status_code == 200, changed.text
    assert limits == {("5 hours", 5)}


def test_a_diagram_deployed_in_one_worker_starts_cases_in_the_other(two_workers):
    service = two_workers
    designer = service.as_("designer")
    for _ in range(ROUNDS):
        service.as_("deputy").report()
    renamed = (
        (ROOT / "bpmn" / "case_loop.bpmn")
        .read_text(encoding="utf-8")
        .replace('name="Screen and classify 甄别分类"', 'name="Screen and route"')
    )

    deployed = designer.post(
        "/api/v1/definitions",
        files=[("files", ("case_loop.bpmn", renamed.encode(), "text/xml"))],
    )
    titles = {_triage_task(service)["title"] for _ in range(ROUNDS)}

    assert deployed.status_code == 201, deployed.text
    assert titles == {"Screen and route"}
