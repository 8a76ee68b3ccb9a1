"""Deployed process versions: deploying, finding the newest, caching parsed specs."""

import logging
import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ProcessVersion
from workflows.clock import clock
from workflows.definitions import ProcessDefinition, content_hash
from workflows.errors import NotFound

log = logging.getLogger(__name__)


class DefinitionRegistry:
    """Parsed definitions by version id; a version never changes once deployed."""

    def __init__(self):
        self._parsed: dict[int, ProcessDefinition] = {}
        self._lock = threading.Lock()

    def deploy(
        self,
        session: Session,
        files: dict[str, bytes],
        process_id: str,
        deployed_by: str,
    ) -> ProcessVersion:
        """Store the files as a new version, or return the newest if it is identical."""
        digest = content_hash(files)
        newest = self.newest(session, process_id, required=False)
        if newest is not None and newest.content_hash == digest:
            return newest

        definition = ProcessDefinition.parse(files, process_id)
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
        session.flush()
        log.info(
            "deployed %s version %s",
            process_id,
            number,
            extra={"process_id": process_id, "version": number},
        )
        return version

    def deploy_folder(
        self,
        session: Session,
        folder: Path,
        process_id: str,
        deployed_by: str = "system",
    ) -> ProcessVersion:
        files = {
            path.name: path.read_bytes()
            for path in sorted(Path(folder).iterdir())
            if path.suffix in (".bpmn", ".dmn")
        }
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

    def definition(self, version: ProcessVersion) -> ProcessDefinition:
        with self._lock:
            parsed = self._parsed.get(version.id)
            if parsed is None:
                parsed = ProcessDefinition(version.process_id, version.spec_json)
                self._parsed[version.id] = parsed
            return parsed
