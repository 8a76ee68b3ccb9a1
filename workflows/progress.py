"""Where one instance stands, element by element, for drawing it on its diagram."""

from SpiffWorkflow.util.task import TaskState

from workflows.definitions import ProcessDefinition
from workflows.errors import EngineError
from workflows.runtime import CaseInstance

CURRENT = TaskState.READY | TaskState.STARTED | TaskState.WAITING


def element_states(instance: CaseInstance) -> dict[str, list[str]]:
    """Element ids that are completed, current or failed in the instance."""
    completed, current, failed = set(), set(), set()
    for task in instance.workflow.get_tasks():
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if not element_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(element_id)
        elif task.state & CURRENT:
            current.add(element_id)
        elif task.state == TaskState.ERROR:
            failed.add(element_id)
    return {
        "completed": sorted(completed - current - failed),
        "current": sorted(current),
        "failed": sorted(failed),
    }


def failing_element(definition: ProcessDefinition, state: str) -> str | None:
    """Where the instance's next advance fails, tried on a copy that is not kept.

    A case whose due timer leads into a failing script stays as it was, so its
    saved state shows nothing wrong; trying the advance shows where it sticks.
    """
    probe = CaseInstance.restore(definition, state)
    try:
        probe.fire_due_timers()
    except EngineError as error:
        return error.element_id
    return None
