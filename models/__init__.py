"""The service's tables; importing this package registers every one of them."""

from models.base import Base
from models.cases import Case, Photo, TimelineEvent
from models.definitions import ProcessVersion
from models.escalations import Escalation
from models.people import User
from models.reference import Category, Department
from models.tasks import HumanTaskRow, PendingTimerRow

__all__ = [
    "Base",
    "Case",
    "Category",
    "Department",
    "Escalation",
    "HumanTaskRow",
    "PendingTimerRow",
    "Photo",
    "ProcessVersion",
    "TimelineEvent",
    "User",
]
