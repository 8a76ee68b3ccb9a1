"""Engine-level tests of the bundled diagram bpmn/case_loop.bpmn.

No Flask and no database: only `ProcessDefinition` and `CaseInstance`. Every scenario
runs twice, once on one instance object and once with the instance saved and restored
after every action, as the service does between requests.

Deadlines are kept by the service, not by the diagram: the service sends the signal
`supervision_requested` when a triage or handling stage runs late, and the diagram
opens a supervise task for it. The only timer left is the reporter's confirmation,
due at the `confirm_due` date passed in with the handling's "done".

The clock is a process-wide offset that only moves forward, so the tests never rely
on absolute times, only on advancing relative to "now".
"""

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workflows.clock import attach_engine_to_clock, clock
from workflows.definitions import ProcessDefinition
from workflows.errors import Conflict, EngineError, NotFound
from workflows.runtime import CaseInstance, HumanTask

DIAGRAM = Path(__file__).resolve().parent.parent / "bpmn" / "case_loop.bpmn"
OUTCOMES = {"closed", "closed_unanswered", "rejected", "merged", "transferred"}
SUPERVISION = "supervision_requested"

CONFIRM_LIMIT = 72 * 3600

DISPATCH = {
    "decision": "dispatch",
    "department": "water",
    "category": "water-environment",
}


def done(seconds: float = CONFIRM_LIMIT) -> dict:
    """The handling's "done", with the confirmation due `seconds` from now."""
    due = clock.now() + timedelta(seconds=seconds)
    return {"decision": "done", "confirm_due": due.isoformat()}


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

    # Actions: each one is followed by a save and restore when asked for.

    def start(self) -> "Case":
        self.instance = CaseInstance.start(self.definition, {"arbitration_after": 3})
        self._step()
        return self

    def complete(self, name: str, data: dict) -> None:
        """Complete the one ready task with that name."""
        self.complete_id(self.task(name).engine_id, data)

    def complete_id(self, engine_id: str, data: dict) -> None:
        self.instance.complete(engine_id, data)
        self._step()

    def signal(self, name: str = SUPERVISION) -> bool:
        accepted = self.instance.signal(name)
        self._step()
        return accepted

    def wait(self, seconds: float) -> None:
        """Let time pass and fire whatever timers fell due."""
        clock.advance(seconds)
        self.instance.fire_due_timers()
        self._step()

    def _step(self) -> None:
        if not self.restore_each_step:
            return
        state = self.instance.dump()
        assert "spec" not in json.loads(state)
        self.instance = CaseInstance.restore(self.definition, state)

    # Queries.

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

    def snapshot(self) -> tuple:
        """Everything a refused action must leave as it was."""
        return (
            self.instance.human_tasks(),
            self.instance.pending_timers(),
            self.instance.end_events,
            self.instance.completed,
            self.instance.dump(),
        )


@pytest.fixture(params=[False, True], ids=["straight", "restored-each-step"])
def case(request, definition) -> Case:
    return Case(definition, restore_each_step=request.param)


def assert_closed_at(case: Case, outcome: str) -> None:
    assert case.outcomes == [outcome]
    assert case.instance.completed
    assert case.tasks() == []
    assert case.instance.pending_timers() == []


# Stages that can be supervised: how to reach one, and how to finish it.

STAGES = ["triage", "handling"]
STAGE_TASK = {"triage": "triage", "handling": "handle"}
SUPERVISE_ELEMENT = {"triage": "supervise_triage", "handling": "supervise_handling"}
SUPERVISION_CLOSED = {
    "triage": "triage_supervision_closed",
    "handling": "handling_supervision_closed",
}
NEXT_TASK = {"triage": "handle", "handling": "confirm"}


def open_stage(case: Case, stage: str) -> None:
    case.start()
    if stage == "handling":
        case.complete("triage", DISPATCH)
    assert case.task_names() == [STAGE_TASK[stage]]


def finish_stage(case: Case, stage: str) -> None:
    case.complete(STAGE_TASK[stage], DISPATCH if stage == "triage" else done())


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

    case.complete("handle", done())
    confirm = case.task("confirm")
    assert confirm.lane == "reporter"
    assert case.task_names() == ["confirm"]

    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")
    # Nothing was supervised, so no internal end event was reached either.
    assert case.instance.end_events == ["closed"]


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

    case.complete("handle", {"decision": "return", "return_count": 1})
    assert case.task_names() == ["triage"]
    assert not case.instance.completed

    case.complete("triage", {**DISPATCH, "department": "housing"})
    second_handle = case.task("handle")
    assert second_handle.engine_id != first_handle.engine_id
    assert case.instance.task_data(second_handle.engine_id)["department"] == "housing"

    case.complete("handle", done())
    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")


def test_disputed_result_goes_back_to_handling_then_closes(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", done())
    first_confirm = case.task("confirm")

    case.complete("confirm", {"decision": "unsatisfied"})
    assert case.task_names() == ["handle"]
    assert case.task("handle").lane == "department"
    assert not case.instance.completed
    assert case.outcomes == []

    case.complete("handle", done())
    second_confirm = case.task("confirm")
    assert second_confirm.engine_id != first_confirm.engine_id

    case.complete("confirm", {"decision": "satisfied"})
    assert_closed_at(case, "closed")


def test_unanswered_confirmation_closes_by_itself_at_confirm_due(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", done(CONFIRM_LIMIT))

    case.wait(CONFIRM_LIMIT - 60)
    assert case.task_names() == ["confirm"]
    assert not case.instance.completed
    assert [t.element_id for t in case.instance.pending_timers()] == [
        "confirm_unanswered"
    ]

    case.wait(120)
    assert_closed_at(case, "closed_unanswered")


def test_unanswered_confirmation_after_rework_counts_from_the_new_confirm_due(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", done(CONFIRM_LIMIT))
    case.wait(CONFIRM_LIMIT - 600)
    case.complete("confirm", {"decision": "unsatisfied"})
    assert case.instance.pending_timers() == []

    case.complete("handle", done(CONFIRM_LIMIT))
    # The first confirm_due passes while the second confirmation is open.
    case.wait(CONFIRM_LIMIT - 60)
    assert case.task_names() == ["confirm"]
    assert not case.instance.completed

    case.wait(120)
    assert_closed_at(case, "closed_unanswered")


def test_handling_done_without_confirm_due_is_an_engine_error(case):
    case.start()
    case.complete("triage", DISPATCH)

    with pytest.raises(EngineError, match="confirm_due"):
        case.instance.complete(case.task("handle").engine_id, {"decision": "done"})


# Supervision: the service's signal opens a supervise task for the open stage.


@pytest.mark.parametrize("stage", STAGES)
def test_supervision_signal_opens_a_supervise_task_in_the_supervision_lane(case, stage):
    open_stage(case, stage)
    stage_task = case.task(STAGE_TASK[stage])

    assert case.signal() is True

    supervise = case.task("supervise")
    assert (supervise.element_id, supervise.lane) == (
        SUPERVISE_ELEMENT[stage],
        "supervision",
    )
    assert case.task_names() == sorted([STAGE_TASK[stage], "supervise"])
    # The stage task stays open, untouched: the boundary event does not interrupt.
    assert case.task(STAGE_TASK[stage]) == stage_task
    assert case.instance.pending_timers() == []
    assert case.outcomes == []


@pytest.mark.parametrize("stage", STAGES)
def test_completing_the_stage_removes_its_supervise_task(case, stage):
    open_stage(case, stage)
    case.signal()
    supervise = case.task("supervise")

    finish_stage(case, stage)

    assert case.task_names() == [NEXT_TASK[stage]]
    assert SUPERVISION_CLOSED[stage] in case.instance.end_events
    assert case.outcomes == []
    assert not case.instance.completed
    with pytest.raises(Conflict):
        case.instance.complete(supervise.engine_id, {"decision": "follow_up"})
    assert case.task_names() == [NEXT_TASK[stage]]


@pytest.mark.parametrize("stage", STAGES)
def test_supervise_follow_up_yields_a_new_supervise_task(case, stage):
    open_stage(case, stage)
    case.signal()
    first = case.task("supervise")

    case.complete_id(first.engine_id, {"decision": "follow_up"})

    second = case.task("supervise")
    assert second.engine_id != first.engine_id
    assert (second.element_id, second.lane) == (
        SUPERVISE_ELEMENT[stage],
        "supervision",
    )
    assert case.task_names() == sorted([STAGE_TASK[stage], "supervise"])
    with pytest.raises(Conflict):
        case.instance.complete(first.engine_id, {"decision": "follow_up"})

    case.complete_id(second.engine_id, {"decision": "follow_up"})
    third = case.task("supervise")
    assert third.engine_id not in {first.engine_id, second.engine_id}

    finish_stage(case, stage)
    assert case.task_names() == [NEXT_TASK[stage]]
    with pytest.raises(Conflict):
        case.instance.complete(third.engine_id, {"decision": "follow_up"})


@pytest.mark.parametrize("stage", STAGES)
def test_second_signal_for_the_same_stage_task_is_refused_and_opens_nothing(
    case, stage
):
    """A stage task can be put under supervision once, not once per signal.

    The non-interrupting boundary event fires once and is not re-armed while its
    task stays open (SpiffWorkflow 3.2), so a second `supervision_requested` finds
    nothing waiting: `signal` returns False and the one supervise task stays,
    also after a follow-up. A new stage task (a return or a rework) can be
    supervised again, see the tests below.
    """
    open_stage(case, stage)
    assert case.signal() is True
    supervise = case.task("supervise")
    before = case.snapshot()

    assert case.signal() is False

    assert case.snapshot() == before
    assert case.task("supervise") == supervise

    case.complete_id(supervise.engine_id, {"decision": "follow_up"})
    follow_up = case.task("supervise")
    assert case.signal() is False
    assert case.task("supervise") == follow_up
    assert case.task_names() == sorted([STAGE_TASK[stage], "supervise"])


def test_supervised_triage_can_still_end_at_rejected(case):
    case.start()
    case.signal()

    case.complete("triage", {"decision": "reject"})

    assert_closed_at(case, "rejected")
    assert sorted(case.instance.end_events) == ["rejected", "triage_supervision_closed"]


def test_supervised_case_closes_with_no_supervise_task_left(case):
    case.start()
    case.signal()
    case.complete("triage", DISPATCH)
    case.signal()
    case.complete("handle", done())

    case.complete("confirm", {"decision": "satisfied"})

    assert_closed_at(case, "closed")
    assert case.instance.end_events == [
        "triage_supervision_closed",
        "handling_supervision_closed",
        "closed",
    ]


def test_returned_case_can_be_supervised_again_in_triage(case):
    case.start()
    assert case.signal() is True
    first = case.task("supervise")
    case.complete("triage", DISPATCH)
    case.complete("handle", {"decision": "return", "return_count": 1})
    assert case.task_names() == ["triage"]

    assert case.signal() is True

    second = case.task("supervise")
    assert second.engine_id != first.engine_id
    assert second.element_id == "supervise_triage"
    assert case.task_names() == ["supervise", "triage"]


def test_reworked_handling_can_be_supervised_again(case):
    case.start()
    case.complete("triage", DISPATCH)
    assert case.signal() is True
    case.complete("handle", done())
    case.complete("confirm", {"decision": "unsatisfied"})
    assert case.task_names() == ["handle"]

    assert case.signal() is True

    assert case.task("supervise").element_id == "supervise_handling"
    assert case.task_names() == ["handle", "supervise"]


def test_supervision_signal_is_refused_during_confirmation(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", done())
    confirm = case.task("confirm")
    before = case.snapshot()

    assert case.signal() is False

    assert case.snapshot() == before
    assert case.task_names() == ["confirm"]
    assert case.task("confirm") == confirm


def reach_end(case: Case, outcome: str) -> None:
    case.start()
    if outcome == "rejected":
        case.complete("triage", {"decision": "reject"})
        return
    case.complete("triage", DISPATCH)
    case.complete("handle", done(CONFIRM_LIMIT))
    if outcome == "closed":
        case.complete("confirm", {"decision": "satisfied"})
    else:
        case.wait(CONFIRM_LIMIT + 60)


@pytest.mark.parametrize("outcome", ["closed", "closed_unanswered", "rejected"])
def test_supervision_signal_is_refused_after_the_case_ended(case, outcome):
    reach_end(case, outcome)
    assert_closed_at(case, outcome)
    before = case.snapshot()

    assert case.signal() is False

    assert case.snapshot() == before
    assert_closed_at(case, outcome)


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
    case.complete("triage", DISPATCH)
    case.complete("handle", done())
    [timer] = case.instance.pending_timers()

    with pytest.raises(Conflict):
        case.instance.complete(timer.engine_id, {})
    assert case.task_names() == ["confirm"]
    assert case.instance.pending_timers() == [timer]


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


def test_no_timers_are_pending_in_triage_or_handling(case):
    case.start()
    assert case.instance.pending_timers() == []
    case.signal()
    assert case.instance.pending_timers() == []

    case.complete("triage", DISPATCH)
    assert case.instance.pending_timers() == []
    case.signal()
    assert case.instance.pending_timers() == []

    # Time passing changes nothing: the service escalates, not the diagram.
    case.wait(30 * 24 * 3600)
    assert case.task_names() == ["handle", "supervise"]
    assert case.instance.pending_timers() == []


def test_confirmation_has_one_timer_due_at_confirm_due(case):
    case.start()
    case.complete("triage", DISPATCH)
    data = done(CONFIRM_LIMIT)
    case.complete("handle", data)

    [timer] = case.instance.pending_timers()
    assert timer.element_id == "confirm_unanswered"
    assert timer.due_at == datetime.fromisoformat(data["confirm_due"])
    assert timer.due_at > clock.now() + timedelta(seconds=CONFIRM_LIMIT - 60)


def test_confirm_due_with_another_offset_is_the_same_moment(case):
    case.start()
    case.complete("triage", DISPATCH)
    due = clock.now() + timedelta(seconds=CONFIRM_LIMIT)
    beijing = due.astimezone(timezone(timedelta(hours=8)))
    case.complete("handle", {"decision": "done", "confirm_due": beijing.isoformat()})

    [timer] = case.instance.pending_timers()
    assert timer.due_at == due


def test_reworked_confirmation_lists_only_the_new_confirm_due(case):
    case.start()
    case.complete("triage", DISPATCH)
    case.complete("handle", done(CONFIRM_LIMIT))
    case.complete("confirm", {"decision": "unsatisfied"})
    assert case.instance.pending_timers() == []

    data = done(2 * CONFIRM_LIMIT)
    case.complete("handle", data)

    [timer] = case.instance.pending_timers()
    assert timer.element_id == "confirm_unanswered"
    assert timer.due_at == datetime.fromisoformat(data["confirm_due"])


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


def test_restored_instance_keeps_supervision_and_the_confirm_timer(case, definition):
    case.start()
    case.complete("triage", DISPATCH)
    case.signal()
    case.complete("handle", done())

    dumped = case.instance.dump()
    assert not {"spec", "subprocess_specs"} & set(json.loads(dumped))

    restored = CaseInstance.restore(definition, dumped)
    assert restored.human_tasks() == case.instance.human_tasks()
    assert restored.pending_timers() == case.instance.pending_timers()
    assert len(restored.pending_timers()) == 1
    assert restored.end_events == case.instance.end_events
    assert restored.dump() == dumped


def test_third_return_goes_to_arbitration_by_supervisors(case):
    case.start()
    for count in (1, 2, 3):
        case.complete("triage", DISPATCH)
        case.complete("handle", {"decision": "return", "return_count": count})

    [arbitrate] = case.instance.human_tasks()
    assert (arbitrate.name, arbitrate.lane) == ("arbitrate", "supervision")

    case.complete("arbitrate", {"decision": "dispatch", "department": "housing"})
    assert [t.name for t in case.instance.human_tasks()] == ["handle"]


def test_arbitration_can_send_the_case_back_to_triage(case):
    case.start()
    for count in (1, 2, 3):
        case.complete("triage", DISPATCH)
        case.complete("handle", {"decision": "return", "return_count": count})

    case.complete("arbitrate", {"decision": "to_triage"})

    assert [t.name for t in case.instance.human_tasks()] == ["triage"]
