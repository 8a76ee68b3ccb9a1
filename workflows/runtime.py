"""One case's engine instance: start, restore, complete tasks, fire timers, save."""

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows.definitions import ProcessDefinition
from workflows.errors import Conflict, EngineError, NotFound, SuishoupaiError
from workflows.scripting import RestrictedScriptEngine
from workflows.serialization import instance_serializer

log = logging.getLogger(__name__)
script_engine = RestrictedScriptEngine()
# Bounds on one advance: a loop or self-call is stopped, not run forever.
MAX_ENGINE_STEPS = 500
MAX_CALL_DEPTH = 25
MAX_ADVANCE_SECONDS = 10.0


@dataclass(frozen=True)
class HumanTask:
    """A ready user task, as the service's task queue needs it."""

    engine_id: str
    element_id: str
    name: str
    title: str
    lane: str | None


@dataclass(frozen=True)
class PendingTimer:
    engine_id: str
    element_id: str
    due_at: datetime


@dataclass(frozen=True)
class Waiting:
    """What an instance waits on, by engine id: ready human tasks, pending timers."""

    tasks: dict[str, HumanTask]
    timers: dict[str, PendingTimer]


NOTHING_WAITING = Waiting({}, {})


class CaseInstance:
    """A running process instance of one case; advance it only under the case's lock.

    `indexed` is what the case's task and timer rows hold, when the caller knows it
    (an instance restored from the case as stored, or a new one): the rows then
    change by what the instance now waits on differently. None means unknown.
    """

    def __init__(self, workflow: BpmnWorkflow, definition: ProcessDefinition):
        self.workflow = workflow
        self.definition = definition
        self.indexed: Waiting | None = None

    @classmethod
    def start(cls, definition: ProcessDefinition, data: dict) -> "CaseInstance":
        workflow = BpmnWorkflow(
            definition.spec, definition.subprocess_specs, script_engine=script_engine
        )
        workflow.task_tree.data.update(data)
        instance = cls(workflow, definition)
        instance._advance()
        return instance

    @classmethod
    def restore(cls, definition: ProcessDefinition, state: str) -> "CaseInstance":
        dct = json.loads(state, cls=instance_serializer.json_decoder_cls)
        instance_serializer.migrate(dct)
        workflow = instance_serializer.from_dict(
            dct, spec=definition.spec, subprocess_specs=definition.subprocess_specs
        )
        workflow.script_engine = script_engine
        return cls(workflow, definition)

    def dump(self) -> str:
        """The instance state without its spec, which is stored once per version."""
        return instance_serializer.serialize_json(self.workflow)

    @property
    def completed(self) -> bool:
        return self.workflow.is_completed()

    @property
    def end_events(self) -> list[str]:
        """Ids of the end events reached so far, oldest first."""
        ends = [
            task
            for task in self.workflow.get_tasks(state=TaskState.COMPLETED)
            if isinstance(task.task_spec, EndEvent)
        ]
        ends.sort(key=lambda task: task.last_state_change)
        return [task.task_spec.bpmn_id for task in ends]

    def human_tasks(self) -> list[HumanTask]:
        return [
            _human_task(task)
            for task in self.workflow.get_tasks(state=TaskState.READY, manual=True)
        ]

    def waiting(self) -> Waiting:
        """Ready human tasks and pending timers, read in one walk of the task tree."""
        tasks, timers = {}, {}
        for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            if task.state == TaskState.READY:
                if task.task_spec.manual:
                    human = _human_task(task)
                    tasks[human.engine_id] = human
            else:
                timer = _pending_timer(task)
                if timer is not None:
                    timers[timer.engine_id] = timer
        return Waiting(tasks, timers)

    def task_data(self, engine_id: str) -> dict:
        return self._ready_task(engine_id).data

    def complete(self, engine_id: str, data: dict) -> None:
        """Finish a ready human task with the given data and run what follows."""
        task = self._ready_task(engine_id)
        task.data.update(data)
        try:
            task.run()
        except SpiffWorkflowException as error:
            raise EngineError(
                f"the diagram failed at {task.task_spec.bpmn_id}: {error}",
                element_id=task.task_spec.bpmn_id,
            ) from error
        self._advance()

    def fire_due_timers(self) -> None:
        self._advance()

    def signal(self, name: str) -> bool:
        """Send a signal into the instance; False when nothing in it waits for one."""
        try:
            self.workflow.send_event(BpmnEvent(SignalEventDefinition(name)))
        except WorkflowException:
            return False
        self._advance()
        return True

    def pending_timers(self) -> list[PendingTimer]:
        waiting = self.workflow.get_tasks(state=TaskState.WAITING)
        return [timer for timer in map(_pending_timer, waiting) if timer is not None]

    def _ready_task(self, engine_id: str) -> SpiffTask:
        try:
            task = self.workflow.get_task_from_id(UUID(engine_id))
        except Exception as error:
            raise NotFound(f"no task {engine_id} in this case") from error
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict(f"task {task.task_spec.bpmn_id} is no longer open")
        return task

    def _advance(self) -> None:
        steps = _StepBudget()
        try:
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps(will_complete_task=steps.spend)
        except SuishoupaiError:
            raise
        except SpiffWorkflowException as error:
            raise EngineError(
                f"the diagram failed: {error}", element_id=_element_of(error)
            ) from error
        except RecursionError as error:
            raise EngineError("the diagram nests calls too deeply to run") from error
        except Exception as error:
            # The engine lets some faults of a diagram out raw (a bare Exception for
            # an invalid duration, AttributeError for a timer giving a timedelta):
            # the case cannot advance, which is a conflict to report, not a crash.
            log.exception("the engine failed outside its own errors")
            raise EngineError(f"the diagram failed: {error!r}") from error
        # Events nothing in the diagram caught (signals sent on, say) are dropped.
        self.workflow.get_events()


class _StepBudget:
    """Stops an advance that runs away: too many steps, calls too deep, too long.

    A diagram that loops or calls itself without waiting for anyone would
    otherwise hold the case's lock and a worker forever.
    """

    def __init__(self):
        self.left = MAX_ENGINE_STEPS
        self.deadline = time.monotonic() + MAX_ADVANCE_SECONDS

    def spend(self, task: SpiffTask) -> None:
        self.left -= 1
        element_id = task.task_spec.bpmn_id
        if self.left < 0:
            self._stop(
                f"ran more than {MAX_ENGINE_STEPS} automatic steps without "
                f"waiting for anyone; it stopped at {element_id}",
                element_id,
            )
        if getattr(task.workflow, "depth", 0) > MAX_CALL_DEPTH:
            self._stop(
                f"nests calls more than {MAX_CALL_DEPTH} deep at {element_id}: "
                "does a process call itself?",
                element_id,
            )
        if time.monotonic() > self.deadline:
            self._stop(
                f"ran longer than {MAX_ADVANCE_SECONDS} seconds without waiting "
                f"for anyone; it stopped at {element_id}",
                element_id,
            )

    @staticmethod
    def _stop(message: str, element_id: str):
        raise EngineError(f"the diagram {message}", element_id=element_id)


def _element_of(error: SpiffWorkflowException) -> str | None:
    """The id of the element an engine error happened at, when it says."""
    task = getattr(error, "task", None)
    spec = getattr(task, "task_spec", None) or getattr(error, "task_spec", None)
    return getattr(spec, "bpmn_id", None)


def _human_task(task: SpiffTask) -> HumanTask:
    spec = task.task_spec
    properties = (spec.extensions or {}).get("properties", {})
    return HumanTask(
        engine_id=str(task.id),
        element_id=spec.bpmn_id,
        name=properties.get("task", spec.bpmn_id),
        title=spec.bpmn_name or spec.bpmn_id,
        lane=spec.lane,
    )


def _pending_timer(task: SpiffTask) -> PendingTimer | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    due = _due_time(definition.details(task).value)
    if due is None:
        return None
    return PendingTimer(str(task.id), task.task_spec.bpmn_id, due)


def _due_time(value) -> datetime | None:
    if isinstance(value, dict):
        value = value.get("next")
    if not value:
        return None
    return TimerEventDefinition.get_datetime(value)
