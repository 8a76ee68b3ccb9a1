"""Partner platforms (12345 hotline, shared-bike operators): cases transferred to
them are sent over, and their progress reports come back onto the case."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, Notification, User
from service.timeline import record
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


def send_transfer(session: Session, case: Case, partner: str) -> None:
    """Queue the case for the partner in the outbox, with the transfer itself."""
    session.add(
        Notification(
            kind="transfer",
            recipient=f"partner:{partner}",
            case_id=case.id,
            payload={
                "case": case.number,
                "description": case.description,
                "category": case.category_code,
                "location": {"lat": case.lat, "lng": case.lng, "address": case.address},
                "reported_at": case.created_at.isoformat(),
            },
            created_at=clock.now(),
            next_attempt_at=clock.now(),
        )
    )


class PartnerUpdates:
    """Progress a partner reports on a case it was given, under the case's lock."""

    def __init__(self, casework):
        self.casework = casework

    def report(
        self, session: Session, user: User, number: str, status: str, note: str | None
    ) -> Case:
        if user.role != "partner":
            raise Forbidden("only partner platforms report on transferred cases")
        case = session.scalar(select(Case).where(Case.number == number))
        if case is None or case.partner != user.partner_code:
            raise NotFound(
                f"no case {number} was transferred to {user.partner_code}",
                case_number=number,
            )
        self.casework.lock(session, case)
        if case.partner_status in FINAL:
            if status == case.partner_status and note == self._last_note(case):
                return case  # the same final report again: kept once
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
        record(
            session,
            case,
            user.name,
            "partner_update",
            note,
            details={"partner": user.partner_code, "status": status},
        )
        log.info(
            "partner update",
            extra={"case": number, "partner": user.partner_code, "status": status},
        )
        return case

    @staticmethod
    def _last_note(case: Case) -> str | None:
        updates = [e for e in case.timeline if e.action == "partner_update"]
        return updates[-1].note if updates else None
