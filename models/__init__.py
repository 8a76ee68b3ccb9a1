"""The service's tables; importing this package registers every one of them."""

from models.base import Base
from models.cases import Case, Photo, TimelineEvent
from models.catalogue import CatalogueEntry, CatalogueVersion
from models.deadlines import ExtensionRequest, StageDeadline
from models.definitions import ProcessVersion
from models.escalations import CommonProblem, Escalation
from models.notifications import Notification
from models.people import User
from models.queues import AnsweredCompletion, SavedFilter
from models.reference import CalendarDay, Category, Department, ReferenceRevision
from models.tasks import HumanTaskRow, PendingTimerRow

__all__ = [
    "AnsweredCompletion",
    "Base",
    "CalendarDay",
    "Case",
    "CatalogueEntry",
    "CatalogueVersion",
    "Category",
    "CommonProblem",
    "Department",
    "Escalation",
    "ExtensionRequest",
    "HumanTaskRow",
    "Notification",
    "PendingTimerRow",
    "Photo",
    "ProcessVersion",
    "ReferenceRevision",
    "SavedFilter",
    "StageDeadline",
    "TimelineEvent",
    "User",
]
