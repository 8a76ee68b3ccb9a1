"""A case process drawn in Camunda Modeler: its candidate groups, assignee, due dates
and form fields decide who works each task, by when, and what they fill in."""

from datetime import datetime, timedelta

import pytest

from tests.conftest import BACKENDS, running_service

CAMUNDA_CASE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="drawn" targetNamespace="http://example.org/drawn">
  <bpmn:process id="drawn_case" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="screen" />
    <bpmn:userTask id="screen" name="Screen it" camunda:candidateGroups="triage" />
    <bpmn:sequenceFlow id="f2" sourceRef="screen" targetRef="fix" />
    <bpmn:userTask id="fix" name="Fix it" camunda:candidateGroups="water"
        camunda:dueDate="PT2H">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="result" label="Result" type="string">
            <camunda:validation><camunda:constraint name="required" />
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="outcome" label="Outcome" type="enum">
            <camunda:value id="fixed" name="Fixed" />
            <camunda:value id="partly" name="Partly" />
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="fix" targetRef="check" />
    <bpmn:userTask id="check" name="Check it" camunda:assignee="deputy" />
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="closed" />
    <bpmn:endEvent id="closed" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(params=BACKENDS)
def drawn_service(request, tmp_path):
    diagrams = tmp_path / "diagrams"
    diagrams.mkdir()
    (diagrams / "drawn.bpmn").write_text(CAMUNDA_CASE)
    settings = {
        "SUISHOUPAI_BPMN_DIR": str(diagrams),
        "SUISHOUPAI_PROCESS_ID": "drawn_case",
    }
    with running_service(tmp_path, request.param, settings=settings) as service:
        yield service


def test_drawn_groups_assignee_due_date_and_form_drive_the_tasks(drawn_service):
    service = drawn_service
    number = service.as_("deputy").report().json()["number"]

    screen = service.as_("office").task_of(number, "screen")
    assert screen["lane"] == "triage"
    done = service.as_("office").complete(screen["id"], decision="done")
    assert done.status_code == 200, done.text

    water = service.as_("water-liaison")
    fix = water.task_of(number, "fix")
    assert not [
        t for t in service.as_("housing-liaison").queue() if t["case_number"] == number
    ]
    due = datetime.fromisoformat(fix["due_at"]) - datetime.fromisoformat(
        fix["created_at"]
    )
    assert due == timedelta(hours=2)
    form = water.get(f"/api/v1/tasks/{fix['id']}").json()["form"]
    assert [f["name"] for f in form["decisions"][0]["fields"]] == ["result", "outcome"]

    missing = water.complete(fix["id"], decision="done", outcome="maybe")
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"result", "outcome"}
    fixed = water.complete(
        fix["id"], decision="done", result="Pipe replaced", outcome="fixed"
    )
    assert fixed.status_code == 200, fixed.text

    check = service.as_("deputy").task_of(number, "check", queue="mine")
    assert check["assignee"] == "deputy"
    closed = service.as_("deputy").complete(check["id"], decision="done")
    assert closed.json()["status"] == "closed"
    assert [e["action"] for e in closed.json()["timeline"]].count("completed") == 3
