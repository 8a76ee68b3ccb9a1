"""Deployed process versions: checking, deploying, finding, comparing, caching specs."""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Department, ProcessVersion
from models.people import ROLES
from service.permissions import LANE_ROLES
from service.reference_cache import reference
from workflows.camunda import NSMAP
from workflows.clock import clock
from workflows.definitions import ProcessDefinition, content_hash, diff_elements
from workflows.errors import Conflict, NotFound
from workflows.validation import Checked, Rules, check, load_document

log = logging.getLogger(__name__)


def designer_rules(session: Session) -> Rules:
    """Who work can go to: the lanes the service routes, roles and departments."""
    departments = session.scalars(select(Department.code)).all()
    return Rules(
        lanes=frozenset(LANE_ROLES), groups=frozenset(ROLES) | frozenset(departments)
    )


@dataclass(frozen=True)
class Deployment:
    version: ProcessVersion
    created: bool


class DefinitionRegistry:
    """Parsed definitions by version id; a version never changes once deployed."""

    def __init__(self):
        self._parsed: dict[int, ProcessDefinition] = {}
        self._lock = threading.Lock()

    def check(
        self, session: Session, files: dict[str, bytes], process_id: str | None = None
    ) -> Checked:
        """Every problem of the files under this service's rules; deploys nothing."""
        return check(files, process_id or None, designer_rules(session))

    def publish(
        self,
        session: Session,
        files: dict[str, bytes],
        process_id: str | None,
        deployed_by: str,
    ) -> Deployment:
        """Store the files as a new version, unless the newest one is identical."""
        definition = ProcessDefinition.parse(
            files, process_id or None, designer_rules(session)
        )
        process_id = definition.process_id
        digest = content_hash(files)
        newest = self.newest(session, process_id, required=False)
        if newest is not None and newest.content_hash == digest:
            return Deployment(newest, created=False)

        number = (
            session.scalar(
                select(func.max(ProcessVersion.version)).where(
                    ProcessVersion.process_id == process_id
                )
            )
            or 0
        ) + 1
        version = ProcessVersion(
            process_id=process_id,
            version=number,
            content_hash=digest,
            spec_json=definition.stored,
            files={name: content.decode("utf-8") for name, content in files.items()},
            deployed_at=clock.now(),
            deployed_by=deployed_by,
        )
        session.add(version)
        try:
            session.flush()
        except IntegrityError as error:
            raise Conflict(
                f"{process_id} was deployed by someone else at the same moment: "
                "deploy again"
            ) from error
        log.info(
            "deployed %s version %s",
            process_id,
            number,
            extra={"process_id": process_id, "version": number, "by": deployed_by},
        )
        return Deployment(version, created=True)

    def deploy(
        self,
        session: Session,
        files: dict[str, bytes],
        process_id: str | None,
        deployed_by: str,
    ) -> ProcessVersion:
        """Store the files as a new version, or return the newest if it is identical."""
        return self.publish(session, files, process_id, deployed_by).version

    def deploy_folder(
        self,
        session: Session,
        folder: Path,
        process_id: str,
        deployed_by: str = "system",
    ) -> ProcessVersion:
        """Deploy the bundled diagrams unless this very content was deployed before.

        Designers deploy newer versions over HTTP; restarting the service must not
        put the bundled diagram back on top of theirs.
        """
        files = {
            path.name: path.read_bytes()
            for path in sorted(Path(folder).iterdir())
            if path.suffix in (".bpmn", ".dmn")
        }
        seen = session.scalar(
            select(ProcessVersion.id).where(
                ProcessVersion.process_id == process_id,
                ProcessVersion.content_hash == content_hash(files),
            )
        )
        if seen is not None:
            return self.newest(session, process_id)
        return self.deploy(session, files, process_id, deployed_by)

    def newest(self, session: Session, process_id: str, required: bool = True):
        version = session.scalar(
            select(ProcessVersion)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        )
        if version is None and required:
            raise NotFound(f"process {process_id!r} has not been deployed")
        return version

    def newest_id(self, session: Session, process_id: str) -> int:
        """The id of the newest version, as the reference data in force know it."""
        version_id = reference(session).newest_versions.get(process_id)
        if version_id is None:
            raise NotFound(f"process {process_id!r} has not been deployed")
        return version_id

    def version(self, session: Session, process_id: str, number: int):
        version = session.scalar(
            select(ProcessVersion).where(
                ProcessVersion.process_id == process_id,
                ProcessVersion.version == number,
            )
        )
        if version is None:
            raise NotFound(f"{process_id} has no version {number}")
        return version

    def definition_of(self, session: Session, version_id: int) -> ProcessDefinition:
        """The parsed definition of a version id, read from the database only once."""
        with self._lock:
            parsed = self._parsed.get(version_id)
        if parsed is not None:
            return parsed
        version = session.get(ProcessVersion, version_id)
        if version is None:
            raise NotFound(f"no process version {version_id}")
        return self.definition(version)

    def definition(self, version: ProcessVersion) -> ProcessDefinition:
        with self._lock:
            parsed = self._parsed.get(version.id)
            if parsed is None:
                parsed = ProcessDefinition(version.process_id, version.spec_json)
                self._parsed[version.id] = parsed
            return parsed

    def diff(self, old: ProcessVersion, new: ProcessVersion) -> dict:
        """What changed from one version to another, element by element."""
        return diff_elements(_encoded(old.files), _encoded(new.files))


def main_file(version: ProcessVersion) -> str | None:
    """The name of the file that holds the version's process."""
    for name, text in sorted(version.files.items()):
        try:
            document = load_document(name, text.encode("utf-8"))
        except (ValueError, etree.XMLSyntaxError):
            continue
        if document.kind != "bpmn":
            continue
        processes = document.tree.getroot().iterfind("bpmn:process", NSMAP)
        if any(p.get("id") == version.process_id for p in processes):
            return name
    return None


def _encoded(files: dict[str, str]) -> dict[str, bytes]:
    return {name: text.encode("utf-8") for name, text in files.items()}
