"""Rows as one change to a case holds them: plain objects, written back by difference.

The ORM models define the tables and serve reads across many cases (queues, figures,
pages). A change to one case, made under its row lock, holds that case's rows as
records instead: they are read with a few Core statements, changed as plain
attributes, and only the columns that changed are written back. Give a stored
record's JSON column a new value rather than changing the value in place: a change
is found by comparing each column with what was read.
"""

from collections.abc import Mapping
from typing import ClassVar, Self

from sqlalchemy import Column, Table

from models.cases import Case, Photo, TimelineEvent
from models.deadlines import ExtensionRequest, StageDeadline
from models.escalations import CommonProblem, Escalation
from models.notifications import Notification
from models.queues import AnsweredCompletion
from models.tasks import HumanTaskRow, PendingTimerRow


class Record:
    """A row of one table; a subclass names its table's model."""

    table: ClassVar[Table]
    columns: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict]

    def __init_subclass__(cls, model=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if model is not None:
            cls.table = model.__table__
            cls.columns = tuple(column.key for column in cls.table.columns)
            cls._defaults = {
                column.key: _default_of(column) for column in cls.table.columns
            }

    def __init__(self, **values):
        """A new row, not stored yet; columns not given take their defaults."""
        unknown = values.keys() - set(self.columns)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no column {sorted(unknown)}")
        for name, default in self._defaults.items():
            if name in values:
                setattr(self, name, values[name])
            else:
                setattr(self, name, default() if callable(default) else default)
        self._stored: dict | None = None

    @classmethod
    def loaded(cls, values: Mapping) -> Self:
        """The record of a row as the database holds it, by column name."""
        record = cls.__new__(cls)
        stored = {name: values[name] for name in cls.columns}
        record.__dict__.update(stored)
        record._stored = stored
        return record

    @property
    def is_stored(self) -> bool:
        return self._stored is not None

    def values(self) -> dict:
        """Every column, for an insert; the id only once it has one."""
        values = {name: getattr(self, name) for name in self.columns}
        if values.get("id") is None:
            values.pop("id", None)
        return values

    def changes(self) -> dict:
        """The columns whose values differ from what was read or last written."""
        stored = self._stored or {}
        return {
            name: getattr(self, name)
            for name in self.columns
            if getattr(self, name) != stored.get(name)
        }

    def mark_stored(self) -> None:
        self._stored = {name: getattr(self, name) for name in self.columns}


def _default_of(column: Column):
    """A column's Python-side default: a value, a zero-argument factory, or None."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        factory = default.arg
        # SQLAlchemy wraps a zero-argument default in a function of its context.
        return lambda: factory(None)
    return None


class CaseRecord(Record, model=Case):
    pass


class TaskRecord(Record, model=HumanTaskRow):
    """An open task; `case` is its case's record and `assignee_name` its holder."""

    case: CaseRecord
    assignee_name: str | None = None


class TimerRecord(Record, model=PendingTimerRow):
    pass


class DeadlineRecord(Record, model=StageDeadline):
    pass


class EscalationRecord(Record, model=Escalation):
    pass


class CommonProblemRecord(Record, model=CommonProblem):
    pass


class TimelineRecord(Record, model=TimelineEvent):
    pass


class PhotoRecord(Record, model=Photo):
    pass


class NotificationRecord(Record, model=Notification):
    pass


class ExtensionRecord(Record, model=ExtensionRequest):
    """An extension request; `case` is its case's record once it is locked."""

    case: CaseRecord


class AnsweredRecord(Record, model=AnsweredCompletion):
    pass
