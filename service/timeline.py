"""A case's timeline: every change records who did what, when (全链条见人见事)."""

from sqlalchemy.orm import Session

from models import Case, TimelineEvent
from workflows.clock import clock

SYSTEM = "system"


def record(
    session: Session,
    case: Case,
    actor: str,
    action: str,
    note=None,
    photo_ids=(),
    details=None,
) -> None:
    session.add(
        TimelineEvent(
            case_id=case.id,
            at=clock.now(),
            actor=actor,
            action=action,
            note=note,
            photo_ids=list(photo_ids),
            details=details or {},
        )
    )
