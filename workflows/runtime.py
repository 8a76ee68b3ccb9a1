"""One case's engine instance: start, restore, complete tasks, fire timers, save."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows.definitions import ProcessDefinition
from workflows.errors import Conflict, EngineError, NotFound
from workflows.scripting import RestrictedScriptEngine
from workflows.serialization import instance_serializer

log = logging.getLogger(__name__)
script_engine = RestrictedScriptEngine()


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


class CaseInstance:
    """A running process instance of one case; advance it only under the case's lock."""

    def __init__(self, workflow: BpmnWorkflow, definition: ProcessDefinition):
        self.workflow = workflow
        self.definition = definition
        self.escalations: list[str] = []

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

    def pending_timers(self) -> list[PendingTimer]:
        timers = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            due = _due_time(definition.details(task).value)
            if due is not None:
                timers.append(PendingTimer(str(task.id), task.task_spec.bpmn_id, due))
        return timers

    def _ready_task(self, engine_id: str) -> SpiffTask:
        try:
            task = self.workflow.get_task_from_id(UUID(engine_id))
        except Exception as error:
            raise NotFound(f"no task {engine_id} in this case") from error
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict(f"task {task.task_spec.bpmn_id} is no longer open")
        return task

    def _advance(self) -> None:
        try:
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
        except SpiffWorkflowException as error:
            raise EngineError(f"the diagram failed: {error}") from error
        for event in self.workflow.get_events():
            code = getattr(event.event_definition, "code", None)
            if code:
                self.escalations.append(code)


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


def _due_time(value) -> datetime | None:
    if isinstance(value, dict):
        value = value.get("next")
    if not value:
        return None
    return TimerEventDefinition.get_datetime(value)
