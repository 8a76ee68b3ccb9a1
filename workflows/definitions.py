"""Parsing BPMN files into a definition whose spec is stored once per version."""

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from workflows.errors import DefinitionError
from workflows.serialization import serializer

# Uploaded XML must not reach the network or expand entities without bound.
SAFE_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)


def content_hash(files: dict[str, bytes]) -> str:
    """A hash of the files by name and content, independent of their order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class ProcessDefinition:
    """An executable process with the specs it calls, ready to start cases."""

    process_id: str
    stored: str

    @classmethod
    def parse(cls, files: dict[str, bytes], process_id: str) -> "ProcessDefinition":
        parser = SpiffBpmnParser(validator=VALIDATOR)
        try:
            for name, content in files.items():
                tree = etree.ElementTree(etree.fromstring(content, SAFE_XML_PARSER))
                parser.add_bpmn_xml(tree, filename=name)
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as error:
            raise DefinitionError(
                "the diagram is not valid",
                errors=[
                    _problem(
                        error.file_name,
                        error.line_number,
                        error.id,
                        error.name,
                        str(error),
                    )
                ],
                element_id=error.id,
            ) from error
        except etree.XMLSyntaxError as error:
            raise DefinitionError(
                "the file is not well-formed XML",
                errors=[_problem(error.filename, error.lineno, None, None, error.msg)],
            ) from error

        state = {
            "spec": serializer.to_dict(spec),
            "subprocess_specs": {
                name: serializer.to_dict(sub) for name, sub in subprocess_specs.items()
            },
        }
        return cls(process_id, json.dumps(state, sort_keys=True))

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


def _problem(file, line, element_id, element_name, message):
    return {
        "file": file,
        "line": line,
        "element_id": element_id,
        "element_name": element_name,
        "message": message,
    }
