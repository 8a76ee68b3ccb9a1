"""Engine-level tests of the bundled diagram bpmn/case_loop.bpmn.

No Flask and no database: only `ProcessDefinition` and `CaseInstance`. Every scenario
runs twice, once on one instance object and once with the instance saved and restored
after every action, as the service does between requests.

The clock is a process-wide offset that only moves forward, so the tests never rely
on absolute times, only on advancing relative to "now".
"""

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from workflows.clock import attach_engine_to_clock, clock
from workflows.definitions import ProcessDefinition
from workflows.errors import Conflict, NotFound
from workflows.runtime import CaseInstance, HumanTask

DIAGRAM = Path(__file__).resolve().parent.parent / "bpmn" / "case_loop.bpmn"
OUTCOMES = {"closed", "closed_unanswered", "rejected", "merged", "transferred"}

TRIAGE_LIMIT = 3600
HANDLING_LIMIT = 7200
CONFIRM_LIMIT = 259200

START_DATA = {
    "triage_limit": f"PT{TRIAGE_LIMIT}S",
    "triage_supervise_after": f"PT{2 * TRIAGE_LIMIT}S",
}
DISPATCH = {
    "decision": "dispatch",
    "department": "water",
    "category": "water-environment",
    "handling_limit": f"PT{HANDLING_LIMIT}S",
    "handling_supervise_after": f"PT{2 * HANDLING_LIMIT}S",
    "confirm_limit": f"PT{CONFIRM_LIMIT}S",
}


@pytest.fixture(scope="module", autouse=True)
def engine_clock():
    attach_engine_to_clock()


@pytest.fixture(scope="module")
def definition() -> ProcessDefinition:
    return ProcessDefinition.parse(
        {"case_loop.bpmn": DIAGRAM.read_bytes()}, "case_loop"
    )


class Case:
    """Drives one case, optionally saving and restoring it after every action."""

    def __init__(self, definition: ProcessDefinition, restore_each_step: bool):
        self.definition = definition
        self.restore_each_step = restore_each_step
        self.instance: CaseInstance | None = None
        self._earlier_escalations: list[str] = []

    # Actions: each one is followed by a save and restore when asked for.

    def start(self, data: dict | None = None) -> "Case":
        self.instance = CaseInstance.start(self.definition, data or START_DATA)
        self._step()
        return self

    def complete(self, name: str, data: dict) -> None:
        """Complete the one ready task with that name."""
        self.complete_id(self.task(name).engine_id, data)

    def complete_id(self, engine_id: str, data: dict) -> None:
        self.instance.complete(engine_id, data)
        self._step()

    def wait(self, seconds: float) -> None:
        """Let time pass and fire whatever timers fell due."""
        clock.advance(seconds)
        self.instance.fire_due_timers()
        self._step()

    def _step(self) -> None:
        if not self.restore_each_step:
            return
        # Escalations live on the instance object only: keep them before replacing it.
        self._earlier_escalations.extend(self.instance.escalations)
        state = self.instance.dump()
        assert "spec" not in json.loads(state)
        self.instance = CaseInstance.restore(self.definition, state)

    # Queries.

    @property
    def escalations(self) -> list[str]:
        return self._earlier_escalations + self.instance.escalations

    def tasks(self, name: str | None = None) -> list[HumanTask]:
        return [
            task
            for task in self.instance.human_tasks()
            if name is None or task.name == name
        ]

    def task(self, name: str) -> HumanTask:
        matches = self.tasks(name)
        assert len(matches) == 1, f"expected one {name} task, got {matches}"
        return matches[0]

    def task_names(self) -> list[str]:
        return sorted(task.name for task in self.tasks())

    @property
    def outcomes(self) -> list[str]:
        """The case outcomes reached, leaving out the diagram's internal end events."""
        return [end for end in self.instance.end_events if end in OUTCOMES]


@pytest.fixture(params=[False, True], ids=["straight", "restored-each-step"])
def case(request, definition) -> Case:
    return Case(definition, restore_each_step=request.param)


def assert_closed_at(case: Case, outcome: str) -> None:
    assert case.outcomes == [outcome]
    assert case.instance.completed
    assert case.tasks() == []
    assert case.instance.pending_timers() == []


# Outcomes.


def test_case_starts_with_a_triage_task_in_the_triage_lane(case):
    case.start()

    triage = case.task("triage")
    assert (triage.element_id, triage.lane) == ("triage", "triage")
    assert case.task_names() == ["triage"]
    assert not case.instance.completed
    assert case.outcomes == []


def test_dispatched_handled_and_confirmed_case_closes(case):
    case.start()
    case.complete("triage", DISPATCH)
    handle = case.task("handle")
    assert handle.lane == "department"
    assert case.task_names() == ["handle"]

    case.complete("handle", {"decision": "done"})
    confirm = case.task("confirm")
    assert confirm.lane == "reporter"
    assert case.task_names() == ["confirm"]

    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")
    assert case.escalations == []


def test_rejected_case_ends_at_rejected(case):
    case.start()
    case.complete("triage", {"decision": "reject"})

    assert_closed_at(case, "rejected")


def test_merged_case_ends_at_merged(case):
    case.start()
    case.complete("triage", {"decision": "merge"})

    assert_closed_at(case, "merged")


def test_transferred_case_ends_at_transferred(case):
    case.start()
    case.complete("triage", {"decision": "transfer"})

    assert_closed_at(case, "transferred")


def test_returned_case_is_redispatched_to_another_department_and_closes(case):
    case.start()
    case.complete("triage", DISPATCH)
    first_handle = case.task("handle")
    assert case.instance.task_data(first_handle.engine_id)["department"] == "water"

    case.complete("handle", {"decision": "return"})
    assert case.task_names() == ["triage"]
    assert not case.instance.completed

    case.complete("triage", {**DISPATCH, "department": "housing"})
    second_handle = case.task("handle")
    assert second_handle.engine_id != first_handle.engine_id
    assert case.instance.task_data(second_handle.engine_id)["department"] == "housing"

    case.complete("handle", {"decision": "done"})
    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")


def test_disputed_result_goes_back_to_handling_then_closes(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", {"decision": "done"})
    first_confirm = case.task("confirm")

    case.complete("confirm", {"decision": "unsatisfied"})
    assert case.task_names() == ["handle"]
    assert case.task("handle").lane == "department"
    assert not case.instance.completed
    assert case.outcomes == []

    case.complete("handle", {"decision": "done"})
    second_confirm = case.task("confirm")
    assert second_confirm.engine_id != first_confirm.engine_id

    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")


def test_unanswered_confirmation_closes_by_itself(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", {"decision": "done"})

    case.wait(CONFIRM_LIMIT - 60)
    assert case.task_names() == ["confirm"]
    assert not case.instance.completed

    case.wait(120)
    assert_closed_at(case, "closed_unanswered")


def test_unanswered_confirmation_after_rework_counts_from_the_new_confirmation(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", {"decision": "done"})
    case.wait(CONFIRM_LIMIT - 600)
    case.complete("confirm", {"decision": "unsatisfied"})
    case.complete("handle", {"decision": "done"})

    case.wait(CONFIRM_LIMIT - 60)
    assert case.task_names() == ["confirm"]

    case.wait(120)
    assert_closed_at(case, "closed_unanswered")


# Supervision.


def test_late_triage_raises_reminder_then_supervision(case):
    case.start()

    case.wait(TRIAGE_LIMIT - 60)
    assert case.escalations == []
    assert case.task_names() == ["triage"]

    case.wait(120)
    assert case.escalations == ["reminder"]
    assert case.task_names() == ["triage"]

    case.wait(TRIAGE_LIMIT)
    assert case.escalations == ["reminder", "supervision"]
    supervise = case.task("supervise")
    assert (supervise.element_id, supervise.lane) == ("supervise_triage", "supervision")
    assert case.task_names() == ["supervise", "triage"]


def test_completing_late_triage_removes_the_supervise_task(case):
    case.start()
    case.wait(2 * TRIAGE_LIMIT + 60)
    supervise = case.task("supervise")

    case.complete("triage", DISPATCH)

    assert case.task_names() == ["handle"]
    with pytest.raises(Conflict):
        case.instance.complete(supervise.engine_id, {"decision": "follow_up"})
    assert case.escalations == ["reminder", "supervision"]


def test_late_handling_raises_reminder_then_supervision(case):
    case.start()
    case.complete("triage", DISPATCH)

    case.wait(HANDLING_LIMIT - 60)
    assert case.escalations == []

    case.wait(120)
    assert case.escalations == ["reminder"]
    assert case.task_names() == ["handle"]

    case.wait(HANDLING_LIMIT)
    assert case.escalations == ["reminder", "supervision"]
    supervise = case.task("supervise")
    assert supervise.element_id == "supervise_handling"
    assert supervise.lane == "supervision"
    assert case.task_names() == ["handle", "supervise"]


def test_completing_late_handling_removes_the_supervise_task(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.wait(2 * HANDLING_LIMIT + 60)
    supervise = case.task("supervise")

    case.complete("handle", {"decision": "done"})

    assert case.task_names() == ["confirm"]
    with pytest.raises(Conflict):
        case.instance.complete(supervise.engine_id, {"decision": "follow_up"})
    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")


def test_supervise_follow_up_yields_a_new_supervise_task(case):
    case.start()
    case.wait(2 * TRIAGE_LIMIT + 60)
    first = case.task("supervise")

    case.complete_id(first.engine_id, {"decision": "follow_up"})

    second = case.task("supervise")
    assert second.engine_id != first.engine_id
    assert (second.element_id, second.lane) == ("supervise_triage", "supervision")
    assert case.task_names() == ["supervise", "triage"]

    case.complete("triage", DISPATCH)
    assert case.task_names() == ["handle"]


def test_returned_case_gets_fresh_triage_timers(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.wait(HANDLING_LIMIT - 600)
    case.complete("handle", {"decision": "return"})
    assert case.escalations == []

    case.wait(TRIAGE_LIMIT - 60)
    assert case.escalations == []

    case.wait(120)
    assert case.escalations == ["reminder"]


# Errors.


def test_completing_an_already_completed_task_is_a_conflict(case):
    case.start()
    triage = case.task("triage")
    case.complete_id(triage.engine_id, DISPATCH)

    with pytest.raises(Conflict):
        case.instance.complete(triage.engine_id, DISPATCH)
    assert case.task_names() == ["handle"]


def test_completing_a_timer_is_a_conflict(case):
    case.start()
    timer = case.instance.pending_timers()[0]

    with pytest.raises(Conflict):
        case.instance.complete(timer.engine_id, {})
    assert case.task_names() == ["triage"]


@pytest.mark.parametrize(
    "engine_id",
    [str(uuid.UUID(int=1)), "not-a-task-id"],
    ids=["unknown-uuid", "not-a-uuid"],
)
def test_unknown_engine_id_is_not_found(case, engine_id):
    case.start()

    with pytest.raises(NotFound):
        case.instance.complete(engine_id, {"decision": "reject"})
    assert case.task_names() == ["triage"]


# Timers and saved state.


def test_pending_timers_are_due_after_now(case):
    case.start()

    timers = {timer.element_id: timer for timer in case.instance.pending_timers()}
    now = clock.now()
    assert set(timers) == {"triage_overdue", "triage_long_overdue"}
    slack = timedelta(seconds=60)
    for element_id, limit in [
        ("triage_overdue", TRIAGE_LIMIT),
        ("triage_long_overdue", 2 * TRIAGE_LIMIT),
    ]:
        due_in = timers[element_id].due_at - now
        assert timedelta(seconds=limit) - slack < due_in <= timedelta(seconds=limit)

    case.complete("triage", DISPATCH)
    now = clock.now()
    timers = case.instance.pending_timers()
    assert {timer.element_id for timer in timers} == {
        "handling_overdue",
        "handling_long_overdue",
    }
    assert all(timer.due_at > now for timer in timers)


def test_confirmation_timer_is_listed_with_its_limit(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", {"decision": "done"})

    now = clock.now()
    [timer] = case.instance.pending_timers()
    assert timer.element_id == "confirm_unanswered"
    assert now < timer.due_at <= now + timedelta(seconds=CONFIRM_LIMIT)
    assert timer.due_at > now + timedelta(seconds=CONFIRM_LIMIT - 60)


def test_dumped_instance_has_no_spec_and_is_much_smaller(case, definition):
    case.start()

    dumped = case.instance.dump()
    state = json.loads(dumped)
    assert "spec" not in state
    assert "subprocess_specs" not in state
    spec_size = len(json.dumps(json.loads(definition.stored)["spec"]))
    assert len(dumped) * 2 < spec_size

    restored = CaseInstance.restore(definition, dumped)
    assert restored.human_tasks() == case.instance.human_tasks()
    assert restored.pending_timers() == case.instance.pending_timers()
