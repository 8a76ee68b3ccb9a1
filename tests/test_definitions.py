"""Designers deploy, check, list, download and compare versions: HTTP and CLI."""

import pytest

from tests.conftest import ROOT
from tests.test_definitions_rules import BROKEN

CASE_LOOP = (ROOT / "bpmn" / "case_loop.bpmn").read_bytes()
PROBLEM_KEYS = {"file", "line", "element_id", "element_name", "message"}


def relabelled(label: str) -> bytes:
    return CASE_LOOP.replace(
        'name="Handle and report back 办理反馈"'.encode(), f'name="{label}"'.encode()
    )


def upload(client, files, path="/api/v1/definitions", **form):
    return client.post(
        path,
        files=[("files", (name, body, "application/xml")) for name, body in files],
        data=form,
    )


def test_a_designer_deploys_a_new_version_and_an_identical_deploy_changes_nothing(
    service,
):
    designer = service.as_("designer")
    content = relabelled("Handle it 办理")

    first = upload(designer, [("case_loop.bpmn", content)])
    again = upload(designer, [("case_loop.bpmn", content)])

    assert first.status_code == 201, first.text
    body = first.json()
    assert body["process_id"] == "case_loop"
    assert body["version"] >= 2
    assert body["created"] is True and body["newest"] is True
    assert len(body["content_hash"]) == 64
    assert body["files"] == ["case_loop.bpmn"] and body["main_file"] == "case_loop.bpmn"
    assert again.status_code == 200
    assert again.json()["version"] == body["version"]
    assert again.json()["created"] is False


def test_a_diagram_with_problems_is_refused_with_every_problem_located(service):
    response = upload(service.as_("designer"), [("broken.bpmn", BROKEN)])

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == 422 and body["status"] and body["message"]
    assert len(body["errors"]) >= 6
    for problem in body["errors"]:
        assert set(problem) == PROBLEM_KEYS
        assert problem["file"] == "broken.bpmn"
        assert problem["element_id"] and problem["line"], problem


def test_check_reports_problems_without_deploying(service):
    designer = service.as_("designer")
    before = designer.get("/api/v1/definitions").json()

    bad = upload(designer, [("b.bpmn", BROKEN)], "/api/v1/definitions/check")
    good = upload(
        designer, [("c.bpmn", relabelled("Only checked"))], "/api/v1/definitions/check"
    )

    assert bad.status_code == 200 and bad.json()["valid"] is False
    located = {e["element_id"] for e in bad.json()["errors"]}
    assert {"decide", "nobody", "calc"} <= located
    assert good.json() == {"valid": True, "process_id": "case_loop", "errors": []}
    assert designer.get("/api/v1/definitions").json() == before


def test_only_designers_and_admins_deploy(service):
    for name in ("deputy", "office", "supervisor"):
        response = upload(service.as_(name), [("c.bpmn", relabelled("Nope"))])
        assert response.status_code == 403, name
    assert upload(service.as_("admin"), [("c.bpmn", relabelled("By admin"))]).ok


def test_uploads_that_are_not_diagrams_are_refused_plainly(service):
    designer = service.as_("designer")

    nothing = designer.post("/api/v1/definitions", data={"x": "1"})
    wrong_name = upload(designer, [("notes.txt", b"hello")])
    entity = upload(
        designer,
        [("e.bpmn", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>')],
    )
    binary = upload(designer, [("x.bpmn", b"\xff\xfe\x00garbage")])

    assert nothing.status_code == 422
    assert "multipart" in nothing.json()["errors"][0]["message"]
    assert wrong_name.status_code == 422
    assert wrong_name.json()["errors"][0]["file"] == "notes.txt"
    assert entity.status_code == 422
    assert "DOCTYPE" in entity.json()["errors"][0]["message"]
    assert binary.status_code == 422


def test_versions_are_listed_downloaded_and_compared(service):
    designer = service.as_("designer")
    old = upload(designer, [("case_loop.bpmn", relabelled("Old label"))]).json()
    new_content = relabelled("New label").replace(
        b"decision == &quot;reject&quot;", b"decision == &quot;refuse&quot;"
    )
    new = upload(designer, [("case_loop.bpmn", new_content)]).json()

    listed = designer.get("/api/v1/definitions").json()
    one = designer.get(f"/api/v1/definitions/case_loop/versions/{new['version']}")
    xml = designer.get(
        f"/api/v1/definitions/case_loop/versions/{new['version']}/files/case_loop.bpmn"
    )
    diff = designer.get(
        "/api/v1/definitions/case_loop/diff",
        params={"from": old["version"], "to": new["version"]},
    )

    numbers = [v["version"] for v in listed if v["process_id"] == "case_loop"]
    assert numbers == sorted(numbers) and new["version"] == max(numbers)
    assert [v["newest"] for v in listed if v["version"] == old["version"]] == [False]
    assert one.json()["open_cases"] == 0
    assert xml.status_code == 200 and xml.content == new_content
    assert xml.headers["Content-Type"].startswith("application/xml")
    changed = {c["element_id"]: c["changes"] for c in diff.json()["changed"]}
    assert changed["handle"] == [
        {"what": "name", "before": "Old label", "after": "New label"}
    ]
    assert changed["flow_reject"][0]["what"] == "condition"
    assert diff.json()["added"] == [] and diff.json()["removed"] == []
    missing = designer.get("/api/v1/definitions/case_loop/versions/999")
    assert missing.status_code == 404


def test_new_cases_start_on_the_newest_version_and_running_ones_stay(service):
    deputy, designer = service.as_("deputy"), service.as_("designer")
    earlier = deputy.report().json()["number"]
    deployed = upload(designer, [("case_loop.bpmn", relabelled("Newest"))]).json()
    later = deputy.report().json()["number"]

    old = designer.get(f"/api/v1/cases/{earlier}/diagram")
    admin = service.as_("admin")
    on_old = admin.get(f"/api/v1/cases/{earlier}/diagram").json()
    on_new = admin.get(f"/api/v1/cases/{later}/diagram").json()

    assert old.status_code == 404  # designers do not see cases
    assert on_old["version"] < deployed["version"]
    assert on_new["version"] == deployed["version"]
    assert "triage" in on_new["current"] and "handle" not in on_new["current"]
    assert "report_received" in on_new["completed"]


def test_the_cli_checks_and_deploys_files(service, tmp_path):
    good = tmp_path / "case_loop.bpmn"
    good.write_bytes(relabelled("From the command line"))
    bad = tmp_path / "broken.bpmn"
    bad.write_bytes(BROKEN)

    checked_bad = service.cli("bpmn", "check", str(bad))
    checked_good = service.cli("bpmn", "check", str(good))
    deployed = service.cli("bpmn", "deploy", str(good), "--by", "cli-test")
    again = service.cli("bpmn", "deploy", str(good))
    refused = service.cli("bpmn", "deploy", str(bad))

    assert checked_bad.returncode == 1
    lines = checked_bad.stdout.strip().splitlines()
    assert len(lines) >= 6
    assert any(line.startswith("broken.bpmn:") and " decide " in line for line in lines)
    assert checked_good.returncode == 0, checked_good.stderr
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed" in deployed.stdout
    assert "identical" in again.stdout
    assert refused.returncode == 1
    listed = service.as_("designer").get("/api/v1/definitions").json()
    assert any(v["deployed_by"] == "cli-test" for v in listed)


def test_camunda_assignment_and_forms_are_kept_with_the_version(service):
    camunda = CASE_LOOP.replace(
        b"<bpmn:definitions ",
        b'<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ',
        1,
    ).replace(
        b'<bpmn:userTask id="handle" ',
        b'<bpmn:userTask id="handle" camunda:candidateGroups="water, handler" '
        b'camunda:dueDate="P2D" ',
    )
    designer = service.as_("designer")
    version = upload(designer, [("case_loop.bpmn", camunda)]).json()["version"]

    tasks = designer.get(f"/api/v1/definitions/case_loop/versions/{version}/tasks")

    assert tasks.status_code == 200
    handle = tasks.json()["handle"]
    assert handle["lane"] == "department"
    assert handle["candidate_groups"] == ["water", "handler"]
    assert handle["due_date"] == "P2D"
    assert tasks.json()["triage"]["candidate_groups"] == []


def test_the_case_diagram_marks_a_late_task_as_escalated(own_service):
    number = own_service.as_("deputy").report().json()["number"]
    supervisor = own_service.as_("supervisor")
    assert supervisor.get(f"/api/v1/cases/{number}/diagram").json()["escalated"] == []

    own_service.advance_clock(30 * 24 * 3600)

    diagram = supervisor.get(f"/api/v1/cases/{number}/diagram").json()
    assert supervisor.case(number)["escalation_level"] > 0
    assert diagram["escalated"] == ["triage"]
    assert "triage" in diagram["current"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a\x01b.bpmn", "control characters"),
        ("x" * 300 + ".bpmn", "longer than 200"),
        (".bpmn", "NAME.bpmn"),
        ("notes.txt", "NAME.bpmn"),
    ],
)
def test_a_file_name_that_cannot_be_kept_is_a_located_problem(service, name, why):
    designer = service.as_("designer")
    before = designer.get("/api/v1/definitions").json()

    response = upload(designer, [(name, CASE_LOOP)])

    assert response.status_code == 422, response.text
    [problem] = response.json()["errors"]
    assert set(problem) == PROBLEM_KEYS
    assert why in problem["message"]
    assert designer.get("/api/v1/definitions").json() == before


def test_malformed_definition_requests_answer_json_errors_never_500(service):
    designer = service.as_("designer")
    calls = [
        designer.post("/api/v1/definitions", json={"files": "x"}),
        designer.post("/api/v1/definitions", data={"files": "not a file"}),
        upload(designer, [("../../etc/passwd.bpmn", b"<x/>")]),
        upload(designer, [("a.bpmn", b"")]),
        upload(designer, [("a.bpmn", CASE_LOOP), ("a.bpmn", CASE_LOOP)]),
        upload(designer, [("a.bpmn", CASE_LOOP)], process_id="nope"),
        designer.get("/api/v1/definitions/case_loop/diff", params={"from": "x"}),
        designer.get("/api/v1/definitions/case_loop/diff"),
        designer.get("/api/v1/definitions/case_loop/versions/1/files/..%2Fx"),
        designer.get("/api/v1/definitions/nothing/versions/1/tasks"),
        designer.post(
            "/api/v1/definitions/case_loop/migrations", json={"to_version": "x"}
        ),
        designer.post(
            "/api/v1/definitions/case_loop/migrations",
            data="{",
            headers={"Content-Type": "application/json"},
        ),
        designer.post(
            "/api/v1/definitions/case_loop/migrations", json={"to_version": 999}
        ),
        designer.get("/api/v1/cases/SSP-nope/diagram"),
    ]

    for response in calls:
        assert response.status_code in (400, 404, 405, 415, 422), response.text
        body = response.json()
        assert body["code"] == response.status_code and body["message"]


def test_a_file_named_in_chinese_downloads_under_its_name(service):
    designer = service.as_("designer")
    deployed = upload(designer, [("案件流程.bpmn", relabelled("Handle 办理 again"))])
    assert deployed.status_code == 201, deployed.text

    xml = designer.get(
        f"/api/v1/definitions/case_loop/versions/{deployed.json()['version']}"
        "/files/案件流程.bpmn"
    )

    assert xml.status_code == 200, xml.text
    disposition = xml.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E6%A1%88%E4%BB%B6%E6%B5%81%E7%A8%8B.bpmn" in disposition
