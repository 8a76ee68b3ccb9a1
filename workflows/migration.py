"""Moving one running instance onto another version of its process."""

from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.util.task import TaskState

from workflows.definitions import ProcessDefinition
from workflows.errors import SuishoupaiError
from workflows.runtime import CaseInstance
from workflows.serialization import serializer

OPEN = TaskState.READY | TaskState.WAITING


@dataclass(frozen=True)
class Change:
    """What a migration does to one current task or timer."""

    element_id: str
    name: str
    action: str  # kept, restarted, cancelled or added
    due_at: datetime | None = None

    def as_dict(self) -> dict:
        return {
            "element_id": self.element_id,
            "name": self.name,
            "action": self.action,
            "due_at": self.due_at.isoformat() if self.due_at else None,
        }


@dataclass
class MigrationPlan:
    """Whether an instance can move, and if so the moved instance and its effects."""

    can_migrate: bool
    reason: str | None = None
    instance: CaseInstance | None = None
    tasks: list[Change] = field(default_factory=list)
    timers: list[Change] = field(default_factory=list)


def plan_migration(
    old: ProcessDefinition, state: str, new: ProcessDefinition
) -> MigrationPlan:
    """Move a copy of the saved instance onto `new`; the saved state is not touched."""
    before = CaseInstance.restore(old, state)
    instance = CaseInstance.restore(old, state)
    workflow = instance.workflow

    top = WorkflowDiff(workflow, SpecDiff(serializer.registry, workflow.spec, new.spec))
    blocker = _blocker(top)
    if blocker:
        return MigrationPlan(False, blocker)
    subprocess_diffs = {}
    for sp_id, subprocess in workflow.subprocesses.items():
        new_spec = new.subprocess_specs.get(subprocess.spec.name)
        if new_spec is None:
            return MigrationPlan(
                False, f"the new version no longer has process {subprocess.spec.name!r}"
            )
        diff = WorkflowDiff(
            subprocess, SpecDiff(serializer.registry, subprocess.spec, new_spec)
        )
        blocker = _blocker(diff)
        if blocker:
            return MigrationPlan(False, blocker)
        subprocess_diffs[sp_id] = (diff, new_spec)

    _apply(top, workflow, new.spec)
    for sp_id, (diff, new_spec) in subprocess_diffs.items():
        _apply(diff, workflow.subprocesses[sp_id], new_spec)
    workflow.subprocess_specs = new.subprocess_specs

    moved = CaseInstance(workflow, new)
    try:
        moved.fire_due_timers()
        # Saving and loading proves that nothing in the instance still needs `old`.
        raised = getattr(moved, "escalations", None)
        moved = CaseInstance.restore(new, moved.dump())
        if raised:
            moved.escalations = raised
    except (SuishoupaiError, KeyError, ValueError, TypeError) as error:
        return MigrationPlan(False, f"the moved instance would not run: {error}")

    return MigrationPlan(
        True,
        instance=moved,
        tasks=_compare_tasks(before, moved),
        timers=_compare_timers(before, moved),
    )


def _blocker(diff: WorkflowDiff) -> str | None:
    for task in diff.removed:
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None) is None:
            continue
        label = f"{spec.bpmn_id} ({spec.bpmn_name})" if spec.bpmn_name else spec.bpmn_id
        if task.state & OPEN:
            return f"its current step {label} is not in the new version"
        if task.state & TaskState.FINISHED_MASK:
            return f"it has passed {label}, which the new version removed"
    return None


def _apply(diff: WorkflowDiff, workflow, new_spec) -> None:
    """Point every task at its new spec and restart only the open steps that changed.

    Unlike the engine's migrate_workflow, unchanged tasks and timers keep their
    ids and due times, so claims and deadlines survive the move.
    """
    changed = set(diff.changed)
    workflow.spec = new_spec
    for task in workflow.tasks.values():
        aligned = diff.alignment.get(task)
        if aligned is not None:
            task.task_spec = aligned

    restart = []
    for task in diff.removed:
        if task.state & TaskState.PREDICTED_MASK:
            # Predictions of removed elements go; the open step above predicts anew.
            ancestor = task.parent
            while ancestor is not None and not ancestor.state & OPEN:
                ancestor = ancestor.parent
            if ancestor is not None:
                restart.append(ancestor)
    for task in workflow.get_tasks(state=OPEN, skip_subprocesses=True):
        parent = task.parent
        if (
            parent is not None
            and parent in changed
            and parent.state == TaskState.COMPLETED
        ):
            # A changed parent (new boundary events, say) predicts its children anew.
            restart.append(parent)
        elif task in changed:
            restart.append(task)
    for task in restart:
        if task.id in workflow.tasks:
            task.reset_branch(None)
    if workflow.last_task not in workflow.tasks:
        workflow.last_task = None


def _compare_tasks(before: CaseInstance, after: CaseInstance) -> list[Change]:
    old = {t.engine_id: t for t in before.human_tasks()}
    new = {t.engine_id: t for t in after.human_tasks()}
    new_elements = {t.element_id for t in new.values()}
    changes = []
    for engine_id, task in old.items():
        if engine_id in new:
            changes.append(Change(task.element_id, task.title, "kept"))
        elif task.element_id in new_elements:
            changes.append(Change(task.element_id, task.title, "restarted"))
        else:
            changes.append(Change(task.element_id, task.title, "cancelled"))
    old_elements = {t.element_id for t in old.values()}
    for engine_id, task in new.items():
        if engine_id not in old and task.element_id not in old_elements:
            changes.append(Change(task.element_id, task.title, "added"))
    return changes


def _compare_timers(before: CaseInstance, after: CaseInstance) -> list[Change]:
    old = {t.element_id: t for t in before.pending_timers()}
    new = {t.element_id: t for t in after.pending_timers()}
    changes = []
    for element_id, timer in old.items():
        moved = new.get(element_id)
        if moved is None:
            changes.append(Change(element_id, element_id, "cancelled", timer.due_at))
        elif moved.due_at == timer.due_at:
            changes.append(Change(element_id, element_id, "kept", moved.due_at))
        else:
            changes.append(Change(element_id, element_id, "restarted", moved.due_at))
    for element_id, timer in new.items():
        if element_id not in old:
            changes.append(Change(element_id, element_id, "added", timer.due_at))
    return changes
