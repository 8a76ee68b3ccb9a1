"""Extensions (延期): a department asks for more time, triage approves or refuses.

While a request waits, the stage's clock is paused, so the wait does not count
against the department; an approved request moves the deadline to its date.
"""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ExtensionRequest, User
from models.records import ExtensionRecord
from service.case_store import CaseStore
from service.casework import Casework
from service.deadlines import LAPSED, Deadlines
from service.ladder import Ladder
from service.timeline import SYSTEM
from workflows.clock import clock
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)
DECIDERS = ("triage", "supervisor", "admin")


class Extensions:
    def __init__(self, casework: Casework):
        self.casework = casework

    def request(
        self, session: Session, user: User, task_id: int, reason: str, until: datetime
    ) -> ExtensionRecord:
        """A handler working a handle task asks for time until `until`."""
        store = CaseStore.of(session)
        file, task = self.casework.locked_open_task(store, user, task_id)
        if task.name != "handle":
            raise Conflict("only a handling task can ask for an extension")
        case, now = file.case, clock.now()
        deadlines = Deadlines.load(session, self.casework.settings)
        deadline = file.deadline
        if deadline is None or deadline.stage != "handling":
            raise Conflict("the case is not being handled")
        if until <= max(now, deadline.due_at):
            raise Invalid(
                "ask for a date after the current deadline",
                errors={"until": [f"after {deadline.due_at.isoformat()}"]},
            )
        if self._pending(session, case.id) is not None:
            raise Conflict(
                "an extension request of this case is waiting already",
                case_number=case.number,
            )

        deadlines.pause(deadline, now)
        extension = ExtensionRecord(
            case_id=case.id,
            deadline_id=deadline.id,
            requested_by=user.name,
            reason=reason,
            until=until,
            requested_at=now,
        )
        extension.case = case
        file.add(extension)
        file.record(
            user.name,
            "extension_requested",
            reason,
            details={"until": until.isoformat()},
        )
        store.save_all()
        log.info("extension requested", extra={"case": case.number})
        return extension

    def decide(
        self,
        session: Session,
        user: User,
        request_id: int,
        approve: bool,
        note: str | None,
    ) -> ExtensionRecord:
        if user.role not in DECIDERS:
            raise Forbidden("extensions are decided by triage or supervisors")
        case_id = session.scalar(
            select(ExtensionRequest.case_id).where(ExtensionRequest.id == request_id)
        )
        if case_id is None:
            raise NotFound(f"no extension request {request_id}")
        store = CaseStore.of(session)
        file = store.lock(case_id)
        case = file.case
        # Read under the lock: another decision may have been taken meanwhile.
        (extension,) = store.rows(
            ExtensionRecord, ExtensionRequest.__table__.c.id == request_id
        )
        file.track(extension)
        extension.case = case
        if extension.decided_at is not None:
            raise Conflict(
                f"extension request {request_id} was decided already"
                + ("" if extension.decided_by != SYSTEM else f": {LAPSED}"),
                case_number=case.number,
            )

        now = clock.now()
        deadlines = Deadlines.load(session, self.casework.settings)
        deadline = file.deadline
        if deadline is None or deadline.id != extension.deadline_id:
            # Asked before this service lapsed such requests with their stage.
            raise Conflict(
                f"extension request {request_id}: {LAPSED}", case_number=case.number
            )
        deadlines.resume(deadline, now)
        if approve:
            deadlines.extend(deadline, extension.until)
            if deadline.due_at > now:
                ladder = Ladder(store, deadlines.policy.grouping)
                ladder.close_reminder(
                    file, deadline.stage, now, "an extension was approved"
                )
                case.escalation_level = ladder.level_of(file)
        # The handling task is due when its stage is, in queues and on pages.
        for task in file.open_tasks:
            if task.name == "handle":
                task.due_at = deadline.due_at
        extension.approved = approve
        extension.decided_by = user.name
        extension.decided_at = now
        extension.decision_note = note
        file.record(
            user.name,
            "extension_approved" if approve else "extension_refused",
            note,
            details={"until": extension.until.isoformat()},
        )
        store.save_all()
        return extension

    @staticmethod
    def _pending(session, case_id) -> int | None:
        """The id of the case's request still waiting for a decision, if any."""
        return session.scalar(
            select(ExtensionRequest.id).where(
                ExtensionRequest.case_id == case_id,
                ExtensionRequest.decided_at.is_(None),
            )
        )
