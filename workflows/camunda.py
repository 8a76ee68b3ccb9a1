"""Camunda Modeler dialect: timer values, assignment, due dates and forms from XML."""

import ast
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}

TIMER_KINDS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
LONGEST_TIMER = timedelta(days=36525)  # a century
# A date a diagram names lies in these years, as every moment the API takes does.
FIRST_YEAR, LAST_YEAR = 2000, 2099
DAYS_A_MONTH = 365.25 / 12
# What Camunda Modeler writes: a bare ISO 8601 date, duration or repeating interval.
_ISO_DURATION = re.compile(r"^-?P(?=[\dT])[\dYMWDTHS.,]*$", re.IGNORECASE)
_ISO_CYCLE = re.compile(r"^R\d*/", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_JUEL = re.compile(r"^\s*[$#]\{")
_CRON_FIELD = re.compile(r"^[\d*?/,LW#A-Z-]+$", re.IGNORECASE)


class TimerValueError(ValueError):
    """A timer value that is neither ISO 8601 nor an expression this engine can run."""


def is_cron(text: str) -> bool:
    fields_ = text.split()
    return 5 <= len(fields_) <= 7 and all(_CRON_FIELD.match(f) for f in fields_)


def check_timer_literal(kind: str, value: str) -> None:
    """Raise TimerValueError unless `value` is a valid ISO 8601 value of that kind.

    Durations, alone or in a cycle, may last at most LONGEST_TIMER: the engine
    counts a duration's months one by one, so P999999999M would hold a worker
    for hours.
    """
    try:
        if kind == "date":
            year = TimerEventDefinition.get_datetime(value).year
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise TimerValueError(
                    f"{value!r} is not in the years {FIRST_YEAR} to {LAST_YEAR}"
                )
        elif kind == "duration":
            if not value.upper().startswith("P"):
                raise ValueError(value)
            _check_span(value)
        else:
            if not value.upper().startswith("R"):
                raise ValueError(value)
            for part in value.upper().replace("--", "/").strip("R").split("/"):
                if part.startswith("P") and _check_span(part) <= timedelta(0):
                    raise TimerValueError(
                        f"{value!r} repeats without waiting: give it an interval"
                    )
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except TimerValueError:
        raise
    except Exception as error:
        examples = {
            "date": "2026-12-31T17:00:00+08:00",
            "duration": "PT1H or P2D",
            "cycle": "R3/PT1H",
        }
        raise TimerValueError(
            f"{value!r} is not a valid ISO 8601 {kind} (for example {examples[kind]})"
        ) from error


def _check_span(duration: str) -> timedelta:
    """How long the duration lasts, if a timer may wait that long."""
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    days = parsed.get("days", 0) + 7 * parsed.get("weeks", 0) + months * DAYS_A_MONTH
    try:
        span = timedelta(
            days=days,
            hours=parsed.get("hours", 0),
            minutes=parsed.get("minutes", 0),
            seconds=parsed.get("seconds", 0),
        )
    except OverflowError:
        span = timedelta.max
    if span > LONGEST_TIMER:
        raise TimerValueError(
            f"{duration!r} lasts longer than {LONGEST_TIMER.days // 365} years, "
            "the longest a timer may wait"
        )
    return span


def normalise_timer(kind: str, text: str | None) -> str:
    """The timer value as a Python expression the engine evaluates.

    Bare ISO 8601 values become quoted strings; expressions are left as written.
    """
    value = (text or "").strip()
    if not value:
        raise TimerValueError(f"the timer has no {kind} value")
    if _JUEL.match(value):
        raise TimerValueError(
            f"{value!r} is a Camunda expression, which this engine cannot run: "
            "write an ISO 8601 value or a Python expression"
        )
    if is_cron(value):
        raise TimerValueError(
            f"{value!r} is a cron expression, which is not supported: "
            "use an ISO 8601 cycle such as R/P1D or R3/PT1H"
        )
    if _ISO_DURATION.match(value) or _ISO_CYCLE.match(value) or _ISO_DATE.match(value):
        check_timer_literal(kind, value)
        return repr(value)
    literal = _string_literal(value)
    if literal is not None:
        check_timer_literal(kind, literal)
    return value


def _string_literal(expression: str) -> str | None:
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


@dataclass(frozen=True)
class FormField:
    """One field of a task's form, from camunda:formData."""

    id: str
    label: str
    type: str = "string"
    default: str | None = None
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "values": [{"id": v, "name": n} for v, n in self.values],
        }

    @classmethod
    def from_dict(cls, dct: dict) -> "FormField":
        return cls(
            id=dct["id"],
            label=dct["label"],
            type=dct.get("type", "string"),
            default=dct.get("default"),
            required=dct.get("required", False),
            values=tuple((v["id"], v["name"]) for v in dct.get("values", [])),
        )


@dataclass(frozen=True)
class TaskAssignment:
    """Who may do a user task and by when, as the diagram says."""

    lane: str | None = None
    assignee: str | None = None
    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    due_date: str | None = None
    form: tuple[FormField, ...] = field(default=())

    def due_at(self, created_at: datetime) -> datetime | None:
        """The due time of a task created at `created_at`, if the diagram sets one."""
        if not self.due_date:
            return None
        if self.due_date.upper().startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(self.due_date)
            return created_at + TimerEventDefinition.get_timedelta_from_start(
                parsed, created_at
            )
        return TimerEventDefinition.get_datetime(self.due_date)

    @property
    def resolves(self) -> bool:
        return bool(self.assignee or self.candidate_groups or self.candidate_users)

    def as_dict(self) -> dict:
        return {
            "lane": self.lane,
            "assignee": self.assignee,
            "candidate_groups": list(self.candidate_groups),
            "candidate_users": list(self.candidate_users),
            "due_date": self.due_date,
            "form": [f.as_dict() for f in self.form],
        }

    @classmethod
    def from_dict(cls, dct: dict) -> "TaskAssignment":
        return cls(
            lane=dct.get("lane"),
            assignee=dct.get("assignee"),
            candidate_groups=tuple(dct.get("candidate_groups", ())),
            candidate_users=tuple(dct.get("candidate_users", ())),
            due_date=dct.get("due_date"),
            form=tuple(FormField.from_dict(f) for f in dct.get("form", ())),
        )


def check_due_date(value: str) -> None:
    """Raise TimerValueError unless the due date is an ISO 8601 date or duration."""
    if _JUEL.match(value):
        raise TimerValueError(
            f"due date {value!r} is a Camunda expression: write an ISO 8601 date "
            "or a duration such as P2D"
        )
    kind = "duration" if value.upper().startswith("P") else "date"
    check_timer_literal(kind, value)


def task_assignment(element: etree._Element, lane: str | None) -> TaskAssignment:
    """Read camunda:assignee, candidate groups and users, due date and form fields."""
    return TaskAssignment(
        lane=lane,
        assignee=_attribute(element, "assignee"),
        candidate_groups=_split(_attribute(element, "candidateGroups")),
        candidate_users=_split(_attribute(element, "candidateUsers")),
        due_date=_attribute(element, "dueDate"),
        form=tuple(_form_fields(element)),
    )


def _attribute(element, name: str) -> str | None:
    value = element.get(f"{{{CAMUNDA_NS}}}{name}")
    return value.strip() if value and value.strip() else None


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _form_fields(element):
    for node in element.iterfind(
        "bpmn:extensionElements/camunda:formData/camunda:formField", NSMAP
    ):
        required = any(
            c.get("name") == "required"
            for c in node.iterfind("camunda:validation/camunda:constraint", NSMAP)
        )
        values = tuple(
            (v.get("id", ""), v.get("name") or v.get("id", ""))
            for v in node.iterfind("camunda:value", NSMAP)
        )
        yield FormField(
            id=node.get("id", ""),
            label=node.get("label") or node.get("id", ""),
            type=node.get("type") or "string",
            default=node.get("defaultValue"),
            required=required,
            values=values,
        )


def add_decision_reference(element: etree._Element) -> None:
    """Turn camunda:decisionRef into the decision reference the engine reads."""
    reference = _attribute(element, "decisionRef")
    if reference is None:
        return
    existing = "bpmn:extensionElements/spiffworkflow:calledDecisionId"
    if element.find(existing, NSMAP) is not None:
        return
    extensions = element.find("bpmn:extensionElements", NSMAP)
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        element.insert(0, extensions)
    called = etree.SubElement(extensions, f"{{{SPIFF_NS}}}calledDecisionId")
    called.text = reference
