"""Designers move open cases to a new version: dry run, bulk migration, revert."""

import pytest
from lxml import etree

from tests.test_definitions import CASE_LOOP, relabelled, upload

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DISPATCH = {"decision": "dispatch", "category": "noise", "department": "water"}


def without_branch(content: bytes, start_id: str) -> bytes:
    """The diagram without an element and all that only it leads to."""
    root = etree.fromstring(content)
    elements = {e.get("id"): e for e in root.iter() if isinstance(e.tag, str)}
    flows = [e for e in elements.values() if e.tag == f"{BPMN}sequenceFlow"]
    gone, todo = set(), [start_id]
    while todo:
        current = todo.pop()
        if current in gone:
            continue
        gone.add(current)
        for element in elements.values():
            if element.get("attachedToRef") == current:
                todo.append(element.get("id"))
        for flow in flows:
            if flow.get("sourceRef") != current:
                continue
            gone.add(flow.get("id"))
            target = flow.get("targetRef")
            others = [
                f
                for f in flows
                if f.get("targetRef") == target
                and f.get("sourceRef") not in gone | {target}
            ]
            if not others:
                todo.append(target)
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        refers = element.get("bpmnElement") or (
            element.text if element.tag.endswith(("flowNodeRef", "incoming")) else None
        )
        if element.get("id") in gone or refers in gone:
            element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def boundary_events_of(content: bytes, task_id: str) -> list[str]:
    root = etree.fromstring(content)
    return [
        event.get("id")
        for event in root.iter(f"{BPMN}boundaryEvent")
        if event.get("attachedToRef") == task_id
    ]


def with_reminder_on_triage(content: bytes) -> bytes:
    """The diagram with a month-long timer on triage that only ends its branch."""
    reminder = b"""
<bpmn:boundaryEvent id="triage_reminder" attachedToRef="triage"
    cancelActivity="false">
  <bpmn:outgoing>flow_reminder_done</bpmn:outgoing>
  <bpmn:timerEventDefinition>
    <bpmn:timeDuration>P30D</bpmn:timeDuration>
  </bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:endEvent id="reminder_done">
  <bpmn:incoming>flow_reminder_done</bpmn:incoming>
</bpmn:endEvent>
<bpmn:sequenceFlow id="flow_reminder_done" sourceRef="triage_reminder"
    targetRef="reminder_done" />
</bpmn:process>"""
    lane = b"<bpmn:flowNodeRef>triage</bpmn:flowNodeRef>"
    return content.replace(b"</bpmn:process>", reminder).replace(
        lane,
        lane
        + b"<bpmn:flowNodeRef>triage_reminder</bpmn:flowNodeRef>"
        + b"<bpmn:flowNodeRef>reminder_done</bpmn:flowNodeRef>",
    )


def deploy(service, content: bytes) -> int:
    response = upload(service.as_("designer"), [("case_loop.bpmn", content)])
    assert response.status_code in (200, 201), response.text
    return response.json()["version"]


def migrate(service, cases, dry_run, to_version=None):
    body = {"cases": cases, "dry_run": dry_run}
    if to_version:
        body["to_version"] = to_version
    response = service.as_("designer").post(
        "/api/v1/definitions/case_loop/migrations", json=body
    )
    assert response.status_code == 200, response.text
    return response.json()


def version_of(service, number) -> int:
    return service.as_("admin").get(f"/api/v1/cases/{number}/diagram").json()["version"]


def case_in_triage(service) -> str:
    return service.as_("deputy").report().json()["number"]


def case_in_handling(service) -> str:
    number = case_in_triage(service)
    office = service.as_("office")
    task = office.task_of(number, "triage")
    assert office.complete(task["id"], **DISPATCH).status_code == 200
    return number


def test_a_dry_run_tells_what_would_happen_and_changes_nothing(service):
    old = deploy(service, relabelled("Before the dry run"))
    triage, handling = case_in_triage(service), case_in_handling(service)
    new = deploy(service, relabelled("After the dry run"))

    result = migrate(service, [triage, handling], dry_run=True)

    assert result["dry_run"] is True and result["batch"] is None
    assert result["to_version"] == new
    by_case = {c["case_number"]: c for c in result["cases"]}
    assert by_case[triage]["outcome"] == "would_migrate"
    assert by_case[triage]["can_migrate"] is True
    assert by_case[triage]["from_version"] == old
    assert by_case[triage]["tasks"] == [
        {
            "element_id": "triage",
            "name": "Screen and classify 甄别分类",
            "action": "kept",
            "due_at": None,
        }
    ]
    assert by_case[handling]["tasks"][0]["action"] == "kept"
    assert all(t["action"] == "kept" for t in by_case[handling]["timers"])
    assert version_of(service, triage) == old
    assert version_of(service, handling) == old


def test_migrated_cases_keep_their_claims_and_run_on_the_new_version(service):
    deploy(service, relabelled("Before migrating"))
    handling = case_in_handling(service)
    liaison = service.as_("water-liaison")
    task = liaison.task_of(handling, "handle")
    assert liaison.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    new = deploy(service, relabelled("Handle, new wording"))

    result = migrate(service, [handling], dry_run=False)

    [moved] = result["cases"]
    assert moved["outcome"] == "migrated" and result["batch"]
    assert version_of(service, handling) == new
    [still] = [t for t in liaison.queue("mine") if t["case_number"] == handling]
    assert still["id"] == task["id"]
    assert still["title"] == "Before migrating"  # the same row, still claimed
    case = liaison.case(handling)
    assert case["timeline"][-1]["action"] == "migrated"
    done = liaison.complete(
        task["id"], decision="done", result="Fixed", photos=("hopper.jpg",)
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "confirming"


def test_a_case_that_cannot_move_is_reported_and_the_others_still_move(service):
    deploy(service, CASE_LOOP)
    triage, handling = case_in_triage(service), case_in_handling(service)
    # The new version drops an event the handling case waits on, and its branch.
    events = boundary_events_of(CASE_LOOP, "handle")
    if not events:
        pytest.skip("the bundled diagram has no boundary event on handle")
    without_event = without_branch(CASE_LOOP, events[0])
    new = deploy(service, without_event)

    result = migrate(service, [triage, handling], dry_run=False)

    by_case = {c["case_number"]: c for c in result["cases"]}
    assert by_case[handling]["outcome"] == "blocked"
    assert events[0] in by_case[handling]["reason"]
    assert by_case[triage]["outcome"] == "migrated"
    assert result["counts"] == {"blocked": 1, "migrated": 1}
    assert version_of(service, triage) == new
    assert version_of(service, handling) < new
    office = service.as_("office")
    assert office.task_of(triage, "triage")


def test_a_migration_can_be_reverted_until_the_case_moves_on(service):
    old = deploy(service, relabelled("Revert me"))
    stays, moves_on = case_in_triage(service), case_in_triage(service)
    deploy(service, relabelled("Reverted from"))
    batch = migrate(service, [stays, moves_on], dry_run=False)["batch"]
    office = service.as_("office")
    task = office.task_of(moves_on, "triage")
    assert office.complete(task["id"], **DISPATCH).status_code == 200

    response = service.as_("designer").post(
        f"/api/v1/definitions/migrations/{batch}/revert", json={}
    )

    assert response.status_code == 200, response.text
    by_case = {c["case_number"]: c for c in response.json()["cases"]}
    assert by_case[stays]["outcome"] == "reverted"
    assert by_case[moves_on]["outcome"] == "blocked"
    assert version_of(service, stays) == old
    assert office.task_of(stays, "triage")
    assert office.case(stays)["timeline"][-1]["action"] == "migration_reverted"
    again = service.as_("designer").post(
        f"/api/v1/definitions/migrations/{batch}/revert", json={"cases": [stays]}
    )
    assert again.json()["cases"][0]["outcome"] == "skipped"


def test_only_designers_migrate_and_unknown_cases_are_named(service):
    forbidden = service.as_("supervisor").post(
        "/api/v1/definitions/case_loop/migrations", json={"dry_run": True}
    )
    unknown = service.as_("designer").post(
        "/api/v1/definitions/case_loop/migrations",
        json={"cases": ["SSP-00000000-99999"], "dry_run": True},
    )
    no_batch = service.as_("designer").post(
        "/api/v1/definitions/migrations/nope/revert", json={}
    )

    assert forbidden.status_code == 403
    assert unknown.status_code == 422
    assert "SSP-00000000-99999" in str(unknown.json()["errors"])
    assert no_batch.status_code == 404


def test_a_migration_that_restarted_a_task_is_reverted_to_the_task_it_closed(service):
    deploy(service, CASE_LOOP)
    number = case_in_triage(service)
    office = service.as_("office")
    before = office.task_of(number, "triage")
    # A new event on triage: the open triage step starts again on the new version.
    deploy(service, with_reminder_on_triage(CASE_LOOP))
    moved = migrate(service, [number], dry_run=False)
    assert moved["cases"][0]["outcome"] == "migrated", moved
    assert {t["action"] for t in moved["cases"][0]["tasks"]} == {"restarted"}
    assert office.task_of(number, "triage")["id"] != before["id"]

    response = service.as_("designer").post(
        f"/api/v1/definitions/migrations/{moved['batch']}/revert", json={}
    )

    assert response.status_code == 200, response.text
    assert response.json()["cases"][0]["outcome"] == "reverted"
    [open_triage] = [t for t in office.queue() if t["case_number"] == number]
    assert open_triage["id"] == before["id"]
    dispatched = office.complete(open_triage["id"], **DISPATCH)
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["status"] == "handling"
