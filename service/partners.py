"""Partner platforms (12345 hotline, shared-bike operators): cases transferred to
them are sent over, and their progress reports come back onto the case."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import TimelineEvent, User
from models.records import CaseRecord
from service.case_file import CaseFile
from service.case_store import CaseStore
from workflows.clock import clock
from workflows.errors import Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)

PARTNERS = {
    "hotline-12345": "12345 hotline 12345热线",
    "bike-platform": "shared-bike platform 共享单车平台",
}
PARTNER_STATUSES = ("accepted", "in_progress", "resolved", "rejected")
# How far along each status is: a partner's progress only moves on, and ends once.
PROGRESS = {"accepted": 0, "in_progress": 1, "resolved": 2, "rejected": 2}
FINAL = ("resolved", "rejected")


def transfer_notice(case: CaseRecord, partner: str) -> dict:
    """The outbox row that sends the case to the partner, queued with the transfer."""
    return {
        "kind": "transfer",
        "recipient": f"partner:{partner}",
        "case_id": case.id,
        "payload": {
            "case": case.number,
            "description": case.description,
            "category": case.category_code,
            "location": {"lat": case.lat, "lng": case.lng, "address": case.address},
            "reported_at": case.created_at.isoformat(),
        },
        "created_at": clock.now(),
        "next_attempt_at": clock.now(),
    }


class PartnerUpdates:
    """Progress a partner reports on a case it was given, under the case's lock."""

    def __init__(self, casework):
        self.casework = casework

    def report(
        self, session: Session, user: User, number: str, status: str, note: str | None
    ) -> CaseFile:
        if user.role != "partner":
            raise Forbidden("only partner platforms report on transferred cases")
        store = CaseStore.of(session)
        case_id = store.case_id(number)
        file = store.lock(case_id) if case_id is not None else None
        if file is None or file.case.partner != user.partner_code:
            raise NotFound(
                f"no case {number} was transferred to {user.partner_code}",
                case_number=number,
            )
        case = file.case
        if case.partner_status in FINAL:
            if status == case.partner_status and note == _last_note(session, case):
                return file  # the same final report again: kept once
            raise Conflict(
                f"{user.partner_code} already reported {case.partner_status} for "
                f"{number}; a finished case takes no further progress",
                case_number=number,
            )
        if PROGRESS[status] < PROGRESS.get(case.partner_status, 0):
            raise Conflict(
                f"{number} is already {case.partner_status}; progress cannot go "
                f"back to {status}",
                case_number=number,
            )
        case.partner_status = status
        file.record(
            user.name,
            "partner_update",
            note,
            details={"partner": user.partner_code, "status": status},
        )
        store.save_all()
        log.info(
            "partner update",
            extra={"case": number, "partner": user.partner_code, "status": status},
        )
        return file


def _last_note(session: Session, case: CaseRecord) -> str | None:
    return session.scalar(
        select(TimelineEvent.note)
        .where(
            TimelineEvent.case_id == case.id, TimelineEvent.action == "partner_update"
        )
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
