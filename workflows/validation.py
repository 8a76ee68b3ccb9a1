"""Checking uploaded BPMN and DMN files, reporting every problem a designer must fix.

The checks run in three passes over safely parsed XML: the BPMN schema, this
service's own rules (assignment, timers, gateways, call activities, scripts and
constructs the engine cannot run), and the engine's own parser, one process at a
time. Each problem names its file, line and element.
"""

import ast
import threading
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from workflows.camunda import (
    BPMN_NS,
    CAMUNDA_NS,
    NSMAP,
    TIMER_KINDS,
    TaskAssignment,
    TimerValueError,
    add_decision_reference,
    check_due_date,
    check_timer_literal,
    normalise_timer,
    task_assignment,
)
from workflows.scripting import (
    SAFE_BUILTINS,
    SAFE_GLOBALS,
    ScriptNotAllowed,
    check_script,
)

MAX_FILES = 50
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ELEMENTS = 50_000
DMN_MARKER = "/DMN/"

# Uploaded XML must not reach the network or expand entities.
SAFE_XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    huge_tree=False,
    load_dtd=False,
    dtd_validation=False,
    remove_comments=True,
)

SUPPORTED_FLOW = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
}
NOT_FLOW = {
    "sequenceFlow",
    "laneSet",
    "dataObject",
    "dataObjectReference",
    "dataInput",
    "dataOutput",
    "textAnnotation",
    "association",
    "group",
    "extensionElements",
    "documentation",
    "ioSpecification",
    "property",
    "auditing",
    "monitoring",
    "correlationSubscription",
    "supportedInterfaceRef",
    "resourceRole",
    "performer",
    "humanPerformer",
    "potentialOwner",
    "incoming",
    "outgoing",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
    "dataInputAssociation",
    "dataOutputAssociation",
    "inputSet",
    "outputSet",
}
UNSUPPORTED = {
    "complexGateway": "complex gateways are not supported: use exclusive, "
    "inclusive or parallel gateways",
    "dataStoreReference": "data stores are not supported: keep data in the "
    "case's variables instead",
    "compensateEventDefinition": "compensation is not supported",
    "linkEventDefinition": "link events are not supported: draw the sequence "
    "flow instead",
}
CAMUNDA_CODE = ("class", "expression", "delegateExpression", "type", "topic")
PYTHON_FORMATS = ("", "python", "python3", "py")

# lxml's schema object keeps one error log; concurrent uploads must not mix them.
_schema_lock = threading.Lock()


@dataclass(frozen=True)
class Problem:
    """One thing a designer must fix, located as precisely as the XML allows."""

    file: str | None
    line: int | None
    element_id: str | None
    element_name: str | None
    message: str

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"{self.file or '-'}:{self.line or '?'}"
        element = self.element_id or "-"
        if self.element_name:
            element += f" ({self.element_name})"
        return f"{where} {element}: {self.message}"


@dataclass(frozen=True)
class Rules:
    """Who can be assigned work: lane names and group names the service knows.

    With `lanes` None, user tasks are not checked for an owner (engine-only use).
    """

    lanes: frozenset[str] | None = None
    groups: frozenset[str] = frozenset()


@dataclass
class Document:
    name: str
    tree: etree._ElementTree
    kind: str
    by_id: dict = field(default_factory=dict)

    def __post_init__(self):
        for element in self.tree.iter():
            element_id = element.get("id") if isinstance(element.tag, str) else None
            if element_id and element_id not in self.by_id:
                self.by_id[element_id] = element


@dataclass
class Checked:
    """What checking found: the problems, and when there are none, the specs."""

    process_id: str | None = None
    spec: object = None
    subprocess_specs: dict = field(default_factory=dict)
    assignments: dict[str, TaskAssignment] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(
    files: dict[str, bytes], process_id: str | None = None, rules: Rules | None = None
) -> Checked:
    """Check the files as one deployment and parse the process they start."""
    checker = _Checker(rules or Rules())
    checker.run(files, process_id)
    return checker.result


def load_document(name: str, content: bytes) -> Document:
    """Parse one file safely; raises ValueError with a designer-readable message."""
    if len(content) > MAX_FILE_BYTES:
        raise ValueError(f"the file is larger than {MAX_FILE_BYTES // 1024} KiB")
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise ValueError("DOCTYPE and entity declarations are not accepted")
    root = etree.fromstring(content, SAFE_XML_PARSER)
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ValueError("DOCTYPE and entity declarations are not accepted")
    namespace = etree.QName(root).namespace or ""
    if namespace == BPMN_NS and etree.QName(root).localname == "definitions":
        kind = "bpmn"
    elif DMN_MARKER in namespace.upper() or namespace.upper().endswith("/DMN"):
        kind = "dmn"
    else:
        raise ValueError("this is neither a BPMN nor a DMN file")
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise ValueError(f"the file has more than {MAX_ELEMENTS} elements")
    return Document(name, tree, kind)


def local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def is_bpmn(element) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN_NS}}}")


class _Checker:
    def __init__(self, rules: Rules):
        self.rules = rules
        self.result = Checked()
        self.documents: list[Document] = []
        self._reported: set[str] = set()

    # Reporting

    def problem(self, document, element, message, line=None):
        element_id = element.get("id") if element is not None else None
        name = _label(element.get("name")) if element is not None else None
        if line is None and element is not None:
            line = element.sourceline
        self.result.problems.append(
            Problem(
                document.name if document else None, line, element_id, name, message
            )
        )
        if element_id:
            self._reported.add(element_id)

    def locate(self, element_id, file_name=None):
        """The document and element of an id, preferring the named file."""
        ordered = sorted(self.documents, key=lambda d: d.name != file_name)
        for document in ordered:
            if element_id in document.by_id:
                return document, document.by_id[element_id]
        return None, None

    # Passes

    def run(self, files, process_id):
        if len(files) > MAX_FILES:
            self.result.problems.append(
                Problem(None, None, None, None, f"at most {MAX_FILES} files at once")
            )
            return
        if not files:
            self.result.problems.append(
                Problem(None, None, None, None, "no BPMN or DMN file was given")
            )
            return
        for name, content in files.items():
            self.load(name, content)
        self.result.documents = self.documents
        bpmn = [d for d in self.documents if d.kind == "bpmn"]
        for document in bpmn:
            self.check_schema(document)
        self.check_rules(bpmn)
        self.check_calls(bpmn)
        self.parse(process_id)
        self.result.problems.sort(
            key=lambda p: (p.file or "", p.line or 0, p.element_id or "")
        )

    def load(self, name, content):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            self.result.problems.append(
                Problem(name, None, None, None, "the file is not UTF-8 text")
            )
            return
        try:
            self.documents.append(load_document(name, content))
        except etree.XMLSyntaxError as error:
            self.result.problems.append(
                Problem(
                    name, error.lineno, None, None, f"not well-formed XML: {error.msg}"
                )
            )
        except ValueError as error:
            self.result.problems.append(Problem(name, None, None, None, str(error)))

    def check_schema(self, document):
        with _schema_lock:
            VALIDATOR.preprocess(document.tree)
            VALIDATOR.validator.validate(document.tree)
            errors = list(VALIDATOR.validator.error_log)
        for error in errors:
            element = self._element_on_line(document, error.line)
            message = error.message.replace(f"{{{BPMN_NS}}}", "bpmn:")
            self.problem(document, element, f"not valid BPMN: {message}", error.line)

    @staticmethod
    def _element_on_line(document, line):
        best = None
        for element in document.tree.iter():
            if not isinstance(element.tag, str) or element.sourceline is None:
                continue
            if line is None or element.sourceline > line:
                break
            if element.get("id"):
                best = element
        return best

    # This service's rules

    def check_rules(self, documents):
        processes = [
            (document, process)
            for document in documents
            for process in document.tree.getroot().iterfind("bpmn:process", NSMAP)
        ]
        any_executable = any(p.get("isExecutable") == "true" for _, p in processes)
        for document in documents:
            root = document.tree.getroot()
            for store in root.iterfind("bpmn:dataStore", NSMAP):
                self.problem(document, store, UNSUPPORTED["dataStoreReference"])
        for document, process in processes:
            executable = process.get("isExecutable") == "true"
            if any_executable and not executable:
                # A pool drawn for documentation only; a call to it is reported.
                continue
            if not executable:
                self.problem(
                    document,
                    process,
                    'the process is not executable: set isExecutable="true" '
                    "(the Executable box in the modeler)",
                )
            if not (process.get("id") or "").strip():
                self.problem(document, process, "the process has no id")
            lanes = self._lanes(document.tree.getroot())
            self._check_container(document, process, lanes, executable)

    @staticmethod
    def _lanes(root):
        lanes = {}
        for lane in root.iter(f"{{{BPMN_NS}}}lane"):
            for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP):
                if ref.text:
                    # Nested lanes come later in document order, so the innermost wins.
                    lanes[ref.text.strip()] = lane.get("name")
        return lanes

    def _check_container(self, document, container, lanes, executable, lane=None):
        flows = container.findall("bpmn:sequenceFlow", NSMAP)
        for child in container:
            if not is_bpmn(child):
                continue
            tag = local(child)
            if tag in UNSUPPORTED:
                self.problem(document, child, UNSUPPORTED[tag])
                continue
            if tag not in SUPPORTED_FLOW:
                if tag not in NOT_FLOW:
                    self.problem(document, child, f"bpmn:{tag} is not supported")
                continue
            child_lane = lanes.get(child.get("id"), lane)
            self._check_node(document, child, tag, flows, child_lane, executable)
            if tag in ("subProcess", "transaction", "adHocSubProcess"):
                self._check_container(document, child, lanes, executable, child_lane)
        for flow in flows:
            self._check_condition(document, flow)

    def _check_node(self, document, node, tag, flows, lane, executable):
        if node.get("isForCompensation") == "true":
            self.problem(document, node, UNSUPPORTED["compensateEventDefinition"])
        for definition in node:
            if is_bpmn(definition) and local(definition) in UNSUPPORTED:
                self.problem(document, node, UNSUPPORTED[local(definition)])
        for definition in node.iterfind("bpmn:timerEventDefinition", NSMAP):
            self._check_timer(document, node, definition)
        for listener in node.iterfind("bpmn:extensionElements/camunda:*", NSMAP):
            if local(listener) in ("executionListener", "taskListener"):
                self.problem(
                    document,
                    node,
                    f"camunda:{local(listener)} is not run by this service: "
                    "model the step as a task instead",
                )
        for name in ("preScript", "postScript"):
            for script in node.iterfind(
                f"bpmn:extensionElements/spiffworkflow:{name}", NSMAP
            ):
                self._check_script(document, node, script.text, name)

        if tag == "scriptTask":
            self._check_script_task(document, node)
        elif tag in ("exclusiveGateway", "inclusiveGateway"):
            self._check_gateway(document, node, tag, flows)
        elif tag == "userTask" and executable:
            self._check_user_task(document, node, lane)
        elif tag == "serviceTask":
            operator = node.find(
                "bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NSMAP
            )
            if operator is None:
                self.problem(
                    document,
                    node,
                    "service tasks are not run by this service: use a user task "
                    "for people or a script task for calculations",
                )
        elif tag == "businessRuleTask":
            add_decision_reference(node)
        if tag not in ("serviceTask",) and any(
            node.get(f"{{{CAMUNDA_NS}}}{name}") for name in CAMUNDA_CODE
        ):
            self.problem(
                document,
                node,
                "Camunda implementations (class, expression, delegate, external "
                "topic) are not run by this service",
            )

    def _check_timer(self, document, node, definition):
        values = [
            (TIMER_KINDS[local(child)], child)
            for child in definition
            if is_bpmn(child) and local(child) in TIMER_KINDS
        ]
        if not values:
            self.problem(document, node, "the timer has no date, duration or cycle")
            return
        kind, element = values[0]
        try:
            expression = normalise_timer(kind, element.text)
        except TimerValueError as error:
            self.problem(document, node, f"timer: {error}")
            return
        try:
            check_script(expression)
            _check_constant_timer(kind, expression)
        except ScriptNotAllowed as error:
            self.problem(document, node, f"timer expression: {error.message}")
            return
        except TimerValueError as error:
            self.problem(document, node, f"timer: {error}")
            return
        element.text = expression

    def _check_script(self, document, node, source, what):
        if not source or not source.strip():
            return
        try:
            check_script(source)
        except ScriptNotAllowed as error:
            self.problem(document, node, f"{what}: {error.message}")

    def _check_script_task(self, document, node):
        script_format = (node.get("scriptFormat") or "").strip().lower()
        if script_format not in PYTHON_FORMATS:
            self.problem(
                document,
                node,
                f"scripts in {node.get('scriptFormat')} are not supported: "
                "scripts are written in Python",
            )
            return
        if node.get(f"{{{CAMUNDA_NS}}}resource"):
            self.problem(document, node, "external script files are not supported")
            return
        script = node.find("bpmn:script", NSMAP)
        if script is None or not (script.text or "").strip():
            self.problem(document, node, "the script task has no script")
            return
        self._check_script(document, node, script.text, "script")

    def _check_condition(self, document, flow):
        condition = flow.find("bpmn:conditionExpression", NSMAP)
        if condition is None:
            return
        text = (condition.text or "").strip()
        if not text:
            self.problem(document, flow, "the condition is empty")
        elif text.startswith(("${", "#{")):
            self.problem(
                document,
                flow,
                f"condition {text!r} is a Camunda expression: write it in Python, "
                "for example  amount > 1000",
            )
        else:
            self._check_script(document, flow, text, "condition")

    def _check_gateway(self, document, gateway, tag, flows):
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            return
        default = gateway.get("default")
        unconditioned = [
            f
            for f in outgoing
            if f.find("bpmn:conditionExpression", NSMAP) is None
            and f.get("id") != default
        ]
        kind = "exclusive" if tag == "exclusiveGateway" else "inclusive"
        for flow in unconditioned:
            label = flow.get("name") or flow.get("id")
            self.problem(
                document,
                gateway,
                f"the {kind} gateway's outgoing flow {label!r} has no condition and "
                "is not the default: give it a condition or make it the default",
            )

    def _check_user_task(self, document, node, lane):
        assignment = task_assignment(node, lane)
        self.result.assignments[node.get("id")] = assignment
        for value in (assignment.assignee, *assignment.candidate_groups):
            if value and value.startswith(("${", "#{")):
                self.problem(
                    document,
                    node,
                    f"{value!r} is a Camunda expression: name a user, role or "
                    "department instead",
                )
                return
        if assignment.due_date:
            try:
                check_due_date(assignment.due_date)
            except TimerValueError as error:
                self.problem(document, node, f"camunda:dueDate: {error}")
        if self.rules.lanes is None:
            return
        unknown = [g for g in assignment.candidate_groups if g not in self.rules.groups]
        for group in unknown:
            self.problem(
                document,
                node,
                f"candidate group {group!r} is neither a role nor a department "
                f"(known: {', '.join(sorted(self.rules.groups))})",
            )
        if assignment.resolves or lane in self.rules.lanes:
            return
        if unknown:
            return
        lanes = ", ".join(sorted(self.rules.lanes))
        where = f"its lane {lane!r} is not one of" if lane else "it is in no lane of"
        self.problem(
            document,
            node,
            f"nobody can do this user task: {where} {lanes}, and it has no "
            "candidate groups or assignee",
        )

    # Call activities across files

    def check_calls(self, documents):
        processes = {}
        calls = {}
        for document in documents:
            for process in document.tree.getroot().iterfind("bpmn:process", NSMAP):
                processes[process.get("id")] = (document, process)
                calls[process.get("id")] = [
                    (document, activity)
                    for activity in process.iter(f"{{{BPMN_NS}}}callActivity")
                ]
        graph = {
            pid: {a.get("calledElement") for _, a in activities}
            for pid, activities in calls.items()
        }
        for pid, activities in calls.items():
            for document, activity in activities:
                called = activity.get("calledElement")
                if not called:
                    self.problem(document, activity, "the call activity calls nothing")
                elif called not in processes:
                    self.problem(
                        document,
                        activity,
                        f"the call activity calls {called!r}, which is not in the "
                        "uploaded files: deploy them together",
                    )
                elif processes[called][1].get("isExecutable") != "true":
                    self.problem(
                        document,
                        activity,
                        f"the call activity calls {called!r}, which is not executable",
                    )
                elif called == pid:
                    self.problem(
                        document,
                        activity,
                        f"the call activity calls its own process {pid!r}: "
                        "a process must not call itself",
                    )
                elif _reaches(graph, called, pid):
                    self.problem(
                        document,
                        activity,
                        f"the call activity calls {called!r}, which calls {pid!r} "
                        "back: a process must not call itself through others",
                    )

    # The engine's parser

    def parse(self, process_id):
        parser = SpiffBpmnParser()
        loaded = []
        for document in self.documents:
            try:
                if document.kind == "dmn":
                    parser.add_dmn_xml(document.tree.getroot(), filename=document.name)
                else:
                    parser.add_bpmn_xml(document.tree, filename=document.name)
                loaded.append(document)
            except ValidationException as error:
                self.engine_problem(error, document.name)
            except Exception as error:  # the engine's parser raises bare errors too
                self.problem(document, None, f"the engine cannot read it: {error}")

        executable = parser.get_process_ids()
        for pid in list(executable):
            _, process = self.locate(pid)
            if process is not None and any(
                e.get("id") in self._reported for e in process.iter() if e.get("id")
            ):
                continue
            try:
                parser.get_spec(pid)
            except ValidationException as error:
                self.engine_problem(error)
            except Exception as error:
                document, element = self.locate(pid)
                self.problem(document, element, f"the engine cannot read it: {error}")
        if self.result.problems:
            return

        target = self.choose(parser, executable, process_id)
        if target is None:
            return
        try:
            self.result.spec = parser.get_spec(target)
            self.result.subprocess_specs = parser.get_subprocess_specs(target)
            self.result.process_id = target
        except ValidationException as error:
            self.engine_problem(error)

    def engine_problem(self, error: ValidationException, file_name=None):
        element_id = getattr(error, "id", None) or None
        if element_id and element_id in self._reported:
            return
        file_name = error.file_name or file_name
        document, element = self.locate(element_id, file_name)
        if document is None:
            document = next((d for d in self.documents if d.name == file_name), None)
        if element is None:
            if any(p.file == file_name for p in self.result.problems):
                # The engine stopped at something already reported more precisely.
                return
            if document is not None:
                element = document.tree.getroot()
                element_id = element.get("id")
        line = error.line_number or (
            element.sourceline if element is not None else None
        )
        message = str(error).split("\n")[0].rstrip(". ")
        self.result.problems.append(
            Problem(
                document.name if document else error.file_name or None,
                int(line) if line else None,
                element_id,
                _label(element.get("name") if element is not None else None)
                or _label(getattr(error, "name", None)),
                message,
            )
        )

    def choose(self, parser, executable, process_id):
        if process_id:
            if process_id in executable:
                return process_id
            document, element = self.locate(process_id)
            message = (
                f"process {process_id!r} is not executable"
                if element is not None
                else f"there is no process {process_id!r} in these files "
                f"(processes: {', '.join(executable) or 'none'})"
            )
            self.problem(document, element, message)
            return None
        called = set(parser.get_process_dependencies())
        roots = [pid for pid in executable if pid not in called]
        if len(roots) == 1:
            return roots[0]
        if not roots:
            for document in self.documents:
                for process in document.tree.getroot().iterfind("bpmn:process", NSMAP):
                    self.problem(document, process, "no executable process to start")
            if not self.result.problems:
                self.result.problems.append(
                    Problem(None, None, None, None, "the files hold no process")
                )
            return None
        for pid in roots:
            document, element = self.locate(pid)
            self.problem(
                document,
                element,
                f"several processes could start a case ({', '.join(roots)}): "
                "choose one with process_id",
            )
        return None


def _check_constant_timer(kind: str, expression: str) -> None:
    """Evaluate a timer that reads no case data, and check what it gives."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise TimerValueError(f"{expression!r} is not a Python expression") from error
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not names <= set(SAFE_GLOBALS) | set(SAFE_BUILTINS):
        return  # it reads case data, so it can only be checked when it runs
    try:
        # check_script has refused imports and dunders; only safe names are given.
        value = eval(
            compile(tree, "<timer>", "eval"),
            {**SAFE_GLOBALS, "__builtins__": SAFE_BUILTINS},
        )
    except Exception as error:
        raise TimerValueError(f"{expression!r} fails: {error}") from error
    if not isinstance(value, str):
        raise TimerValueError(
            f"{expression!r} gives a {type(value).__name__}, not an ISO 8601 "
            f"{kind} text such as 'PT30S'"
        )
    check_timer_literal(kind, value)


def _label(name: str | None) -> str | None:
    """An element's name on one line, as the modeler shows it."""
    return " ".join(name.split()) if name and name.strip() else None


def _reaches(graph, start, goal) -> bool:
    seen, stack = set(), [start]
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(graph.get(current, ()))
    return False
