"""The service's tables; importing this package registers every one of them."""

from models.base import Base
from models.cases import Case, Photo, TimelineEvent
from models.deadlines import ExtensionRequest, StageDeadline
from models.definitions import ProcessVersion
from models.escalations import CommonProblem, Escalation
from models.notifications import Notification
from models.people import User
from models.reference import CalendarDay, Category, Department
from models.tasks import HumanTaskRow, PendingTimerRow

__all__ = [
    "Base",
    "CalendarDay",
    "Case",
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
    "StageDeadline",
    "TimelineEvent",
    "User",
]
