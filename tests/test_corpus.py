"""Every corpus model deploys or is refused naming its elements; none breaks us.

Each file goes up with the sibling files it calls. What deploys is started once
on the engine and must come to rest: done, or waiting for someone or something.
"""

import time

import pytest
from lxml import etree
from SpiffWorkflow.util.task import TaskState

from tests.conftest import CORPUS
from tests.test_definitions import upload
from workflows.clock import attach_engine_to_clock
from workflows.definitions import ProcessDefinition
from workflows.errors import EngineError
from workflows.runtime import CaseInstance
from workflows.validation import Rules

MODELS = CORPUS / "bpmn"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# The service's own rules, as tests/test_definitions_rules.py spells them.
RULES = Rules(
    lanes=frozenset({"triage", "department", "reporter", "supervision"}),
    groups=frozenset(
        {"reporter", "triage", "handler", "supervisor", "designer", "admin"}
        | {"housing", "water", "traffic-police", "city-management"}
    ),
)


def _processes_and_calls(path):
    try:
        root = etree.parse(str(path)).getroot()
    except etree.XMLSyntaxError:
        return set(), set()
    defined = {p.get("id") for p in root.iter(f"{BPMN}process")}
    defined |= {d.get("id") for d in root.iter() if str(d.tag).endswith("}decision")}
    calls = {c.get("calledElement") for c in root.iter(f"{BPMN}callActivity")}
    for task in root.iter(f"{BPMN}businessRuleTask"):
        for ref in task.iter():
            if str(ref.tag).endswith("calledDecisionId") and ref.text:
                calls.add(ref.text.strip())
    return defined, calls - {None}


def deployment_groups():
    """Each model with the siblings in its folder that it calls, directly or not."""
    files = sorted(
        p
        for p in MODELS.rglob("*")
        if p.suffix in (".bpmn", ".dmn", ".xml") and p.parent.name != "serialization"
    )
    index = {path: _processes_and_calls(path) for path in files}
    groups = []
    for path in files:
        if path.suffix == ".dmn":
            continue
        group, todo = {path}, [path]
        while todo:
            calls = index[todo.pop()][1]
            for sibling in files:
                if sibling.parent != path.parent or sibling in group:
                    continue
                if index[sibling][0] & calls:
                    group.add(sibling)
                    todo.append(sibling)
        groups.append(sorted(group))
    return groups


GROUPS = deployment_groups()


@pytest.fixture(scope="module", autouse=True)
def engine_clock():
    attach_engine_to_clock()


@pytest.mark.parametrize(
    "group", GROUPS, ids=[str(g[0].relative_to(MODELS)) for g in GROUPS]
)
def test_a_corpus_model_deploys_or_is_refused_by_element(service, group):
    files = [(path.name, path.read_bytes()) for path in group]
    designer = service.as_("designer")

    started = time.monotonic()
    response = upload(designer, files)
    choices = _startable_processes(response)
    responses = [response]
    if choices:
        responses = [upload(designer, files, process_id=pid) for pid in choices]

    assert time.monotonic() - started < 60
    for response in responses:
        assert response.status_code in (200, 201, 422), response.text
        if response.status_code == 422:
            errors = response.json()["errors"]
            assert errors
            for problem in errors:
                assert problem["element_id"], problem
                assert problem["message"], problem
        else:
            _run_to_rest(dict(files), response.json()["process_id"])


def _startable_processes(response) -> list[str]:
    if response.status_code != 422:
        return []
    errors = response.json()["errors"]
    if not all("several processes could start" in e["message"] for e in errors):
        return []
    return [e["element_id"] for e in errors]


def _run_to_rest(files: dict[str, bytes], process_id: str) -> None:
    definition = ProcessDefinition.parse(files, process_id, RULES)
    try:
        instance = CaseInstance.start(definition, {})
    except EngineError as error:
        # Running needs data the model expects from elsewhere; it said so plainly.
        assert error.message
        return
    workflow = instance.workflow
    waiting = (
        instance.completed
        or instance.human_tasks()
        or instance.pending_timers()
        or workflow.waiting_events()
        or workflow.get_tasks(state=TaskState.STARTED)
    )
    assert waiting, f"{process_id} stopped without waiting for anything"
