"""Parsing BPMN files into a definition whose spec is stored once per version."""

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property

from lxml import etree

from workflows.camunda import (
    BPMN_NS,
    CAMUNDA_NS,
    NSMAP,
    SPIFF_NS,
    FormField,
    TaskAssignment,
)
from workflows.errors import DefinitionError
from workflows.serialization import serializer
from workflows.validation import Rules, check, is_bpmn, load_document, local

DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"


def content_hash(files: dict[str, bytes]) -> str:
    """A hash of the files by name and content, independent of their order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class ProcessDefinition:
    """An executable process with the specs it calls, ready to start cases.

    Besides the engine's specs it keeps, per user task element id, what the
    engine does not read: Camunda assignment, due date and form fields.
    """

    process_id: str
    stored: str

    @classmethod
    def parse(
        cls,
        files: dict[str, bytes],
        process_id: str | None = None,
        rules: Rules | None = None,
    ) -> "ProcessDefinition":
        """Check and parse the files; raises DefinitionError listing every problem."""
        checked = check(files, process_id, rules)
        if not checked.ok:
            count = len(checked.problems)
            first = checked.problems[0]
            raise DefinitionError(
                f"the diagram has {count} problem{'s' if count > 1 else ''}, "
                f"first: {first}",
                errors=[problem.as_dict() for problem in checked.problems],
                element_id=first.element_id,
            )

        state = {
            "spec": serializer.to_dict(checked.spec),
            "subprocess_specs": {
                name: serializer.to_dict(sub)
                for name, sub in checked.subprocess_specs.items()
            },
            "assignments": {
                element_id: assignment.as_dict()
                for element_id, assignment in checked.assignments.items()
            },
        }
        return cls(checked.process_id, json.dumps(state, sort_keys=True))

    @cached_property
    def _state(self) -> dict:
        return json.loads(self.stored)

    @cached_property
    def _specs(self):
        # Restoring consumes the dictionaries, so each restore reads the text anew.
        state = json.loads(self.stored)
        subprocess_specs = {
            name: serializer.from_dict(sub)
            for name, sub in state["subprocess_specs"].items()
        }
        return serializer.from_dict(state["spec"]), subprocess_specs

    @property
    def spec(self):
        return self._specs[0]

    @property
    def subprocess_specs(self):
        return self._specs[1]

    @cached_property
    def _assignments(self) -> dict[str, TaskAssignment]:
        return {
            element_id: TaskAssignment.from_dict(dct)
            for element_id, dct in self._state.get("assignments", {}).items()
        }

    def task_assignments(self) -> dict[str, TaskAssignment]:
        """Every user task's assignment, due date and form, by element id."""
        return dict(self._assignments)

    def task_assignment(self, element_id: str) -> TaskAssignment:
        """Who may do the user task and by when, as drawn; empty when not set."""
        return self._assignments.get(element_id) or TaskAssignment()

    def task_form(self, element_id: str) -> tuple[FormField, ...]:
        """The form fields of the user task (camunda:formData), possibly none."""
        return self.task_assignment(element_id).form


CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
SKIPPED_CHILDREN = ("incoming", "outgoing", "flowNodeRef")
# Children shown as one readable line in a diff rather than as XML.
READABLE = {
    "conditionExpression": "condition",
    "script": "script",
    "timerEventDefinition": "timer",
}


def diagram_elements(files: dict[str, bytes]) -> dict[str, dict]:
    """Every process element by id: its type, name, attributes and definition."""
    elements = {}
    for name, content in files.items():
        try:
            document = load_document(name, content)
        except (ValueError, etree.XMLSyntaxError):
            continue
        if document.kind != "bpmn":
            continue
        root = document.tree.getroot()
        for process in root.iterfind("bpmn:process", NSMAP):
            _collect(process, process.get("id"), elements)
        layout = {}
        for shape in root.iter(f"{{{DI_NS}}}BPMNShape", f"{{{DI_NS}}}BPMNEdge"):
            layout[shape.get("bpmnElement")] = _canonical(shape, drop_ids=True)
        for element_id, dct in elements.items():
            if element_id in layout:
                dct.setdefault("layout", layout[element_id])
    return elements


def _collect(element, process_id, elements):
    tag = local(element)
    content = copy.deepcopy(element)
    for child in list(content):
        if not isinstance(child.tag, str):
            continue
        if local(child) in SKIPPED_CHILDREN or (
            tag in CONTAINERS and child.get("id") and local(child) != "laneSet"
        ):
            content.remove(child)
    if tag == "process":
        for lane_set in content.iterfind("bpmn:laneSet", NSMAP):
            content.remove(lane_set)
    attributes = {
        _short(key): value
        for key, value in element.attrib.items()
        if key not in ("id", "name")
    }
    for child in list(content):
        what = READABLE.get(local(child)) if isinstance(child.tag, str) else None
        if what is None:
            continue
        values = (
            [child.text or ""]
            if what != "timer"
            else [
                f"{local(value)} {value.text or ''}"
                for value in child
                if isinstance(value.tag, str)
            ]
        )
        attributes[what] = " ".join(" ".join(values).split())
        content.remove(child)
    for key in list(content.attrib):
        del content.attrib[key]
    elements[element.get("id")] = {
        "type": tag,
        "name": " ".join((element.get("name") or "").split()) or None,
        "process": process_id,
        "attributes": attributes,
        "definition": _canonical(content, drop_ids=True),
    }
    if tag in CONTAINERS:
        for child in element:
            if isinstance(child.tag, str) and child.get("id") and is_bpmn(child):
                if local(child) == "laneSet":
                    for lane in child.iter(f"{{{BPMN_NS}}}lane"):
                        _collect_lane(lane, process_id, elements)
                    continue
                _collect(child, process_id, elements)


def _collect_lane(lane, process_id, elements):
    members = sorted(
        (ref.text or "").strip() for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP)
    )
    elements[lane.get("id")] = {
        "type": "lane",
        "name": " ".join((lane.get("name") or "").split()) or None,
        "process": process_id,
        "attributes": {"members": " ".join(members)},
        "definition": "",
    }


def _canonical(element, drop_ids=False) -> str:
    copy_ = copy.deepcopy(element)
    if drop_ids:
        for node in copy_.iter():
            if isinstance(node.tag, str) and node is not copy_:
                node.attrib.pop("id", None)
    text = etree.tostring(copy_, method="c14n").decode()
    text = re.sub(r' xmlns(:\w+)?="[^"]*"', "", text)
    return " ".join(text.split())


def _short(key: str) -> str:
    qname = etree.QName(key)
    prefix = {BPMN_NS: "", CAMUNDA_NS: "camunda:", SPIFF_NS: "spiffworkflow:"}
    if qname.namespace is None:
        return qname.localname
    return prefix.get(qname.namespace, "{" + qname.namespace + "}") + qname.localname


def diff_elements(old: dict[str, bytes], new: dict[str, bytes]) -> dict:
    """What changed between two deployments, element by element."""
    before, after = diagram_elements(old), diagram_elements(new)
    added = [_summary(i, after[i]) for i in after if i not in before]
    removed = [_summary(i, before[i]) for i in before if i not in after]
    changed, moved = [], []
    for element_id in before.keys() & after.keys():
        changes = _changes(before[element_id], after[element_id])
        if changes:
            changed.append(
                {**_summary(element_id, after[element_id]), "changes": changes}
            )
        elif before[element_id].get("layout") != after[element_id].get("layout"):
            moved.append(_summary(element_id, after[element_id]))
    order = {key: n for n, key in enumerate([*before, *after])}
    for group in (added, removed, changed, moved):
        group.sort(key=lambda item: order[item["element_id"]])
    return {"added": added, "removed": removed, "changed": changed, "moved": moved}


def _summary(element_id: str, element: dict) -> dict:
    return {
        "element_id": element_id,
        "element_name": element["name"],
        "type": element["type"],
        "process": element["process"],
    }


def _changes(before: dict, after: dict) -> list[dict]:
    changes = []
    for key in ("type", "name"):
        if before[key] != after[key]:
            changes.append({"what": key, "before": before[key], "after": after[key]})
    for key in sorted(before["attributes"].keys() | after["attributes"].keys()):
        old, new = before["attributes"].get(key), after["attributes"].get(key)
        if old != new:
            changes.append({"what": key, "before": old, "after": new})
    if before["definition"] != after["definition"]:
        changes.append(
            {
                "what": "definition",
                "before": before["definition"],
                "after": after["definition"],
            }
        )
    return changes
