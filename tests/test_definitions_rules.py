"""Engine-level tests of checking diagrams: every problem at once, Camunda dialect.

No server: only `workflows.validation`, `ProcessDefinition` and `CaseInstance`.
"""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workflows import scripting
from workflows.clock import attach_engine_to_clock, clock
from workflows.definitions import ProcessDefinition
from workflows.errors import DefinitionError, EngineError
from workflows.progress import element_states, failing_element
from workflows.runtime import CaseInstance
from workflows.validation import Rules, check

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "bpmn"
RULES = Rules(
    lanes=frozenset({"triage", "department", "reporter", "supervision"}),
    groups=frozenset({"triage", "handler", "supervisor", "water", "housing"}),
)
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="http://example.org/bpmn">\n'
)


def diagram(body: str, process_id="p", executable="true", lanes="") -> bytes:
    """A BPMN document with one process around `body`."""
    return (
        f'{HEAD}<bpmn:process id="{process_id}" isExecutable="{executable}">\n'
        f"{lanes}{body}\n</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def triage_lane(*members: str) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{m}</bpmn:flowNodeRef>" for m in members)
    return (
        '<bpmn:laneSet id="lanes"><bpmn:lane id="lane_triage" name="triage">'
        f"{refs}</bpmn:lane></bpmn:laneSet>\n"
    )


def user_task_with_timer(timer: str, kind="timeDuration", extra="") -> bytes:
    return diagram(
        f"""
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
<bpmn:userTask id="review" name="Review" {extra}/>
<bpmn:boundaryEvent id="late" attachedToRef="review" cancelActivity="false">
  <bpmn:timerEventDefinition id="late_timer">
    <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{timer}</bpmn:{kind}>
  </bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late_end"/>
<bpmn:endEvent id="late_end"/>""",
        lanes=triage_lane("start", "review", "late", "end", "late_end"),
    )


BROKEN = diagram(
    """
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
<bpmn:exclusiveGateway id="decide" name="Which way?"/>
<bpmn:sequenceFlow id="f_yes" name="yes" sourceRef="decide" targetRef="nobody">
  <bpmn:conditionExpression>ok</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_no" name="no" sourceRef="decide" targetRef="calc"/>
<bpmn:userTask id="nobody" name="Nobody's task"/>
<bpmn:scriptTask id="calc" name="Sneaky">
  <bpmn:script>import os</bpmn:script>
</bpmn:scriptTask>
<bpmn:intermediateCatchEvent id="every_minute" name="Cron">
  <bpmn:timerEventDefinition><bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle>
  </bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:callActivity id="again" name="Call myself" calledElement="p"/>
<bpmn:complexGateway id="complex" name="Complex"/>
<bpmn:sequenceFlow id="f4" sourceRef="nobody" targetRef="end"/>
<bpmn:sequenceFlow id="f5" sourceRef="calc" targetRef="end"/>
<bpmn:endEvent id="end"/>"""
)


@pytest.fixture(scope="module", autouse=True)
def engine_clock():
    attach_engine_to_clock()


def test_a_broken_diagram_reports_every_problem_with_its_element_and_line():
    checked = check({"broken.bpmn": BROKEN}, rules=RULES)

    by_element = {}
    for problem in checked.problems:
        assert problem.file == "broken.bpmn"
        assert problem.line and problem.element_id, problem
        by_element.setdefault(problem.element_id, []).append(problem.message)
    assert "no condition" in " ".join(by_element["decide"])
    assert "nobody can do this user task" in " ".join(by_element["nobody"])
    assert "imports are not allowed" in " ".join(by_element["calc"])
    assert "cron" in " ".join(by_element["every_minute"])
    assert "must not call itself" in " ".join(by_element["again"])
    assert "complex gateways are not supported" in " ".join(by_element["complex"])


def test_parse_raises_one_definition_error_listing_all_problems():
    with pytest.raises(DefinitionError) as raised:
        ProcessDefinition.parse({"broken.bpmn": BROKEN}, rules=RULES)

    assert raised.value.status == 422
    assert len(raised.value.errors) >= 6
    assert set(raised.value.errors[0]) == {
        "file",
        "line",
        "element_id",
        "element_name",
        "message",
    }


def test_a_non_executable_process_is_named():
    checked = check(
        {"a.bpmn": diagram('<bpmn:startEvent id="s"/>', executable="false")}
    )

    [problem] = checked.problems
    assert problem.element_id == "p"
    assert "not executable" in problem.message


def test_schema_errors_name_the_element_on_their_line():
    content = diagram(
        '<bpmn:startEvent id="s"/>\n<bpmn:userTask id="t" bogus="1"/>',
        lanes=triage_lane("s", "t"),
    )
    checked = check({"a.bpmn": content}, rules=RULES)

    [problem] = [p for p in checked.problems if "not valid BPMN" in p.message]
    lines = content.decode().splitlines()
    assert problem.element_id == "t"
    assert problem.line == 1 + next(
        n for n, line in enumerate(lines) if "bogus" in line
    )


def test_a_process_calling_itself_through_another_is_refused():
    first = diagram(
        '<bpmn:startEvent id="s1"/><bpmn:sequenceFlow id="a1" sourceRef="s1" '
        'targetRef="call_b"/><bpmn:callActivity id="call_b" calledElement="b"/>',
        process_id="a",
    )
    second = diagram(
        '<bpmn:startEvent id="s2"/><bpmn:sequenceFlow id="a2" sourceRef="s2" '
        'targetRef="call_a"/><bpmn:callActivity id="call_a" calledElement="a"/>',
        process_id="b",
    )
    checked = check({"a.bpmn": first, "b.bpmn": second})

    messages = {p.element_id: p.message for p in checked.problems}
    assert "calls 'b' back" in messages["call_a"]
    assert "calls 'a' back" in messages["call_b"]


def test_the_nested_self_calling_corpus_model_is_refused_not_run():
    folder = CORPUS / "spiffworkflow" / "call_activity_nested"
    content = (folder / "call_activity_level_3.bpmn").read_bytes()

    checked = check({"call_activity_level_3.bpmn": content})

    assert [p.element_id for p in checked.problems] == ["Activity_12zat0d"]


def test_a_runaway_diagram_is_stopped_instead_of_hanging():
    # Parsed without our checks, as a diagram deployed before them could be.
    from SpiffWorkflow.spiff.parser import SpiffBpmnParser

    from workflows.serialization import serializer

    folder = CORPUS / "spiffworkflow" / "call_activity_nested"
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(folder / "call_activity_level_3.bpmn"))
    stored = {
        "spec": serializer.to_dict(parser.get_spec("Level3")),
        "subprocess_specs": {
            k: serializer.to_dict(v)
            for k, v in parser.get_subprocess_specs("Level3").items()
        },
    }
    import json

    definition = ProcessDefinition("Level3", json.dumps(stored))

    with pytest.raises(EngineError, match="does a process call itself"):
        CaseInstance.start(definition, {})


def test_a_script_loop_is_stopped_after_a_bounded_number_of_steps():
    content = diagram(
        """
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count"/>
<bpmn:scriptTask id="count" name="Count"><bpmn:script>n = n + 1</bpmn:script>
</bpmn:scriptTask>
<bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="again"/>
<bpmn:exclusiveGateway id="again" default="f_loop"/>
<bpmn:sequenceFlow id="f_loop" sourceRef="again" targetRef="count"/>
<bpmn:sequenceFlow id="f_end" sourceRef="again" targetRef="end">
  <bpmn:conditionExpression>n &lt; 0</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:endEvent id="end"/>"""
    )
    definition = ProcessDefinition.parse({"loop.bpmn": content})

    with pytest.raises(EngineError, match="automatic steps") as raised:
        CaseInstance.start(definition, {"n": 0})
    assert raised.value.element_id in {"count", "again", "f_loop"}


def test_a_script_that_never_ends_is_stopped_naming_its_task(monkeypatch):
    monkeypatch.setattr(scripting, "MAX_SCRIPT_SECONDS", 0.5)
    content = diagram(
        """
<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin"/>
<bpmn:scriptTask id="spin" name="Spin"><bpmn:script>while True:
    pass</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="end"/>
<bpmn:endEvent id="end"/>"""
    )
    definition = ProcessDefinition.parse({"spin.bpmn": content})
    started = time.monotonic()

    with pytest.raises(EngineError, match="longer than 0.5 s") as raised:
        CaseInstance.start(definition, {})
    assert raised.value.element_id == "spin"
    assert time.monotonic() - started < 5


def test_a_diagram_failing_on_missing_data_is_an_engine_error_not_a_crash():
    model = CORPUS / "spiffworkflow" / "parallel_multiinstance_loop_input.bpmn"
    definition = ProcessDefinition.parse({model.name: model.read_bytes()})

    with pytest.raises(EngineError, match="the diagram failed"):
        CaseInstance.start(definition, {})


@pytest.mark.parametrize("limit", ["garbage", 5, None])
def test_a_timer_reading_bad_case_data_is_an_engine_error_not_a_crash(limit):
    definition = ProcessDefinition.parse(
        {"t.bpmn": user_task_with_timer("limit")}, rules=RULES
    )

    with pytest.raises(EngineError, match="the diagram failed"):
        CaseInstance.start(definition, {"limit": limit})


def test_a_timer_computed_past_a_century_stops_at_once_with_an_engine_error():
    definition = ProcessDefinition.parse(
        {"t.bpmn": user_task_with_timer("'P' + str(months) + 'M'")}, rules=RULES
    )
    started = time.monotonic()

    with pytest.raises(EngineError, match="longer than 100 years") as raised:
        CaseInstance.start(definition, {"months": 10**12})
    assert raised.value.element_id == "late"
    # The engine would count the months one by one for hours.
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("kind", "value", "due_in"),
    [
        ("timeDuration", "PT1H", timedelta(hours=1)),
        ("timeDuration", "P2D", timedelta(days=2)),
        ("timeCycle", "R3/PT1H", timedelta(hours=1)),
    ],
)
def test_camunda_bare_iso_timers_run_as_their_authors_meant(kind, value, due_in):
    definition = ProcessDefinition.parse(
        {"camunda.bpmn": user_task_with_timer(value, kind)}, rules=RULES
    )
    before = clock.now()

    instance = CaseInstance.start(definition, {})

    [timer] = instance.pending_timers()
    assert timer.element_id == "late"
    assert abs((timer.due_at - before) - due_in) < timedelta(seconds=5)


def test_a_camunda_date_with_an_offset_is_read_in_its_own_zone():
    due = datetime(2031, 5, 4, 9, 30, tzinfo=UTC)
    definition = ProcessDefinition.parse(
        {"date.bpmn": user_task_with_timer("2031-05-04T17:30:00+08:00", "timeDate")},
        rules=RULES,
    )

    [timer] = CaseInstance.start(definition, {}).pending_timers()

    assert timer.due_at == due


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("timeDuration", "P1H", "not a valid ISO 8601 duration"),
        ("timeCycle", "0 0 12 * * ?", "cron expression"),
        ("timeDuration", "${limit}", "Camunda expression"),
        ("timeDate", "2031-13-45T00:00:00", "not a valid ISO 8601 date"),
        ("timeDate", "9999-12-31T20:00:00Z", "not in the years 2000 to 2099"),
        ("timeDuration", "'PT-oops'", "not a valid ISO 8601 duration"),
        ("timeDuration", "timedelta(seconds=30)", "gives a timedelta"),
        ("timeDuration", "P999999999M", "longer than 100 years"),
        ("timeDuration", "PT99999999999999999999H", "longer than 100 years"),
        ("timeCycle", "R/P99999999999Y", "longer than 100 years"),
        ("timeCycle", "R999999999999/PT0S", "repeats without waiting"),
    ],
)
def test_a_timer_that_cannot_evaluate_is_a_problem_of_its_event(kind, value, message):
    checked = check({"t.bpmn": user_task_with_timer(value, kind)}, rules=RULES)

    [problem] = checked.problems
    assert problem.element_id == "late"
    assert message in problem.message


def test_a_process_without_an_id_is_a_problem():
    content = user_task_with_timer("PT1H").replace(b'process id="p"', b"process")

    checked = check({"n.bpmn": content}, rules=RULES)

    assert "the process has no id" in [problem.message for problem in checked.problems]


@pytest.mark.parametrize("due", ["9999-12-31T20:00:00Z", "1999-12-31"])
def test_a_due_date_outside_the_years_2000_to_2099_is_a_problem_of_its_task(due):
    extra = f'camunda:dueDate="{due}"'
    content = user_task_with_timer("PT1H", extra=extra)

    checked = check({"d.bpmn": content}, rules=RULES)

    [problem] = checked.problems
    assert problem.element_id == "review"
    assert "camunda:dueDate" in problem.message
    assert "not in the years 2000 to 2099" in problem.message


def test_camunda_assignment_due_date_and_form_are_kept_per_element():
    extra = (
        'camunda:candidateGroups="water, housing" camunda:candidateUsers="li,wang" '
        'camunda:assignee="li" camunda:dueDate="P2D"'
    )
    content = user_task_with_timer("PT1H", extra=extra).replace(
        b'<bpmn:userTask id="review" name="Review" ' + extra.encode() + b"/>",
        b'<bpmn:userTask id="review" name="Review" '
        + extra.encode()
        + b"""><bpmn:extensionElements><camunda:formData>
<camunda:formField id="result" label="Result" type="string">
  <camunda:validation><camunda:constraint name="required"/></camunda:validation>
</camunda:formField>
<camunda:formField id="severity" label="Severity" type="enum" defaultValue="low">
  <camunda:value id="low" name="Low"/><camunda:value id="high" name="High"/>
</camunda:formField></camunda:formData></bpmn:extensionElements></bpmn:userTask>""",
    )
    definition = ProcessDefinition.parse({"c.bpmn": content}, rules=RULES)
    restored = ProcessDefinition(definition.process_id, definition.stored)

    assignment = restored.task_assignment("review")
    assert assignment.lane == "triage"
    assert assignment.candidate_groups == ("water", "housing")
    assert assignment.candidate_users == ("li", "wang")
    assert assignment.assignee == "li"
    created = datetime(2030, 1, 1, tzinfo=UTC)
    assert assignment.due_at(created) == created + timedelta(days=2)
    result, severity = restored.task_form("review")
    assert (result.id, result.label, result.required) == ("result", "Result", True)
    assert severity.values == (("low", "Low"), ("high", "High"))
    assert severity.default == "low"
    assert restored.task_assignment("nothing-here").resolves is False


def test_candidate_groups_must_be_roles_or_departments():
    content = user_task_with_timer(
        "PT1H", extra='camunda:candidateGroups="engineering"'
    ).replace(b"<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", b"")

    checked = check({"g.bpmn": content}, rules=RULES)

    [problem] = checked.problems
    assert problem.element_id == "review"
    assert "'engineering' is neither a role nor a department" in problem.message


def test_uploaded_xml_with_entities_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><bpmn:definitions '
        b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;'
        b"</bpmn:definitions>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<d>&x;</d>"
    )

    for content in (bomb, external):
        [problem] = check({"evil.bpmn": content}).problems
        assert "DOCTYPE" in problem.message


def test_a_file_that_is_not_xml_is_reported_with_its_line():
    content = b'<?xml version="1.0"?>\n<definitions>\n<oops'
    [problem] = check({"bad.bpmn": content}).problems

    assert problem.file == "bad.bpmn"
    assert problem.line == 3
    assert "not well-formed" in problem.message


def test_several_startable_processes_ask_for_a_choice():
    body = '<bpmn:startEvent id="s_{0}"/>'
    one = diagram(body.format("a"), process_id="a")
    two = diagram(body.format("b"), process_id="b")

    checked = check({"a.bpmn": one, "b.bpmn": two})
    chosen = check({"a.bpmn": one, "b.bpmn": two}, process_id="b")

    assert {p.element_id for p in checked.problems} == {"a", "b"}
    assert chosen.ok and chosen.process_id == "b"


def test_the_step_a_case_sticks_at_is_found_without_changing_the_case():
    content = (
        user_task_with_timer("PT60S")
        .replace(
            b'<bpmn:endEvent id="late_end"/>',
            b'<bpmn:scriptTask id="broken" name="Broken">'
            b"<bpmn:script>note = missing + 1</bpmn:script></bpmn:scriptTask>"
            b'<bpmn:sequenceFlow id="f4" '
            b'sourceRef="broken" targetRef="late_end"/><bpmn:endEvent id="late_end"/>',
        )
        .replace(
            b'sourceRef="late" targetRef="late_end"',
            b'sourceRef="late" targetRef="broken"',
        )
    )
    definition = ProcessDefinition.parse({"stuck.bpmn": content}, rules=RULES)
    state = CaseInstance.start(definition, {}).dump()

    before = failing_element(definition, state)
    clock.advance(120)
    after = failing_element(definition, state)

    assert before is None
    assert after == "broken"
    assert element_states(CaseInstance.restore(definition, state))["current"] == [
        "late",
        "review",
    ]
