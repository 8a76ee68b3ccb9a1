"""A script environment for diagram expressions that cannot reach the host."""

import ast
import builtins
import datetime
import sys
import time
from contextlib import contextmanager

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)

from workflows.camunda import TimerValueError, check_timer_literal
from workflows.errors import DefinitionError, EngineError

SAFE_NAMES = (
    "abs all any bool dict divmod enumerate filter float format int isinstance len "
    "list map max min range repr reversed round set sorted str sum tuple zip"
)
SAFE_BUILTINS = {name: getattr(builtins, name) for name in SAFE_NAMES.split()}
SAFE_BUILTINS.update({"True": True, "False": False, "None": None})
SAFE_GLOBALS = {"datetime": datetime, "timedelta": datetime.timedelta}
MAX_SCRIPT_SECONDS = 10.0
TIMER_KINDS = {
    TimeDateEventDefinition: "date",
    DurationTimerEventDefinition: "duration",
    CycleTimerEventDefinition: "cycle",
}


class ScriptNotAllowed(DefinitionError):
    """A script or expression uses something the restricted environment forbids."""


def check_script(source: str) -> None:
    """Refuse imports, dunder access and anything not parseable as Python."""
    if source in _ALLOWED:
        return
    _check(source)
    if len(_ALLOWED) < MAX_REMEMBERED:
        _ALLOWED.add(source)


# A diagram's scripts are the same at every evaluation: one that passed is not
# parsed again. Bounded, so that scripts made up on the fly cannot grow it forever.
_ALLOWED: set[str] = set()
MAX_REMEMBERED = 10_000


def _check(source: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ScriptNotAllowed(f"not valid Python: {error.msg}") from error

    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptNotAllowed("imports are not allowed in diagram scripts")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ScriptNotAllowed(f"'{node.attr}' is not allowed in diagram scripts")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ScriptNotAllowed(f"'{node.id}' is not allowed in diagram scripts")
        if isinstance(
            node, ast.Global | ast.Nonlocal | ast.Lambda | ast.AsyncFunctionDef
        ):
            raise ScriptNotAllowed("this construct is not allowed in diagram scripts")


class RestrictedEnvironment(TaskDataEnvironment):
    """Task data as globals, a short list of builtins, and no way out."""

    def __init__(self):
        super().__init__({**SAFE_GLOBALS, "__builtins__": SAFE_BUILTINS})

    def evaluate(self, expression, context, external_context=None):
        check_script(expression)
        with _time_limit():
            return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        check_script(script)
        with _time_limit():
            return super().execute(script, context, external_context)


class ScriptTooLong(Exception):
    """A script or expression ran past MAX_SCRIPT_SECONDS."""


@contextmanager
def _time_limit():
    """Stop the script running in this thread once it has run MAX_SCRIPT_SECONDS.

    The check runs at each line the script executes, so a `while True` loop stops;
    one long built-in operation (a power of a power, say) runs to its end first.
    """
    deadline = time.monotonic() + MAX_SCRIPT_SECONDS

    def check(_frame, _event, _arg):
        if time.monotonic() > deadline:
            raise ScriptTooLong(f"the script ran longer than {MAX_SCRIPT_SECONDS:g} s")
        return check

    previous = sys.gettrace()
    sys.settrace(check)
    try:
        yield
    finally:
        sys.settrace(previous)


class RestrictedScriptEngine(PythonScriptEngine):
    """The engine's script runner bound to the restricted environment."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def evaluate(self, task, expression, external_context=None):
        value = super().evaluate(task, expression, external_context)
        timer = getattr(task.task_spec, "event_definition", None)
        kind = TIMER_KINDS.get(type(timer))
        if kind and expression == timer.expression and isinstance(value, str):
            # A timer computed from case data is held to what a literal one is.
            try:
                check_timer_literal(kind, value)
            except TimerValueError as error:
                raise EngineError(
                    f"the diagram failed at timer {task.task_spec.bpmn_id}: {error}",
                    element_id=task.task_spec.bpmn_id,
                ) from error
        return value

    def call_service(self, task, **kwargs):
        # The 3.2 base method hides the real error behind a NameError.
        raise NotImplementedError(
            "service tasks are completed by the service, not scripts"
        )
