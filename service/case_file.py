"""A case file (案卷): one case and the rows that change with it, under its lock."""

from dataclasses import dataclass, field

from models.records import (
    CaseRecord,
    DeadlineRecord,
    EscalationRecord,
    Record,
    TaskRecord,
    TimelineRecord,
)
from workflows.clock import clock


@dataclass(eq=False)
class CaseFile:
    """What a change to one case reads and writes, kept until it is written back.

    `tasks` are the case's open tasks (a task closed by this change stays until the
    file is written), `deadline` the open stage deadline, `escalations` the open
    escalations once read. Rows the change adds wait in `added`; timer rows it drops
    in `dropped_timers`.
    """

    case: CaseRecord
    tasks: list[TaskRecord]
    deadline: DeadlineRecord | None
    escalations: list[EscalationRecord] | None = None
    locked: bool = True
    reporter_name: str | None = None
    # Made in this transaction: every row it has is one of the file's records.
    created: bool = False
    added: list[Record] = field(default_factory=list)
    dropped_timers: set[str] = field(default_factory=set)
    # Stored records that may change: written back when they differ from what was read.
    tracked: list[Record] = field(default_factory=list)

    def __post_init__(self):
        for task in self.tasks:
            task.case = self.case
        self.tracked = [self.case, *self.tasks]
        if self.deadline is not None:
            self.tracked.append(self.deadline)

    @property
    def number(self) -> str:
        return self.case.number

    @property
    def open_tasks(self) -> list[TaskRecord]:
        return [task for task in self.tasks if task.closed_at is None]

    def task(self, task_id: int) -> TaskRecord | None:
        return next((task for task in self.tasks if task.id == task_id), None)

    def add(self, record: Record) -> Record:
        """A new row of this case, inserted when the file is written."""
        if isinstance(record, TaskRecord):
            record.case = self.case
            self.tasks.append(record)
        self.added.append(record)
        return record

    def track(self, record: Record) -> Record:
        """A stored row read for this change: written back if it changes."""
        if record.is_stored and record not in self.tracked:
            self.tracked.append(record)
        return record

    def record(
        self, actor: str, action: str, note=None, photo_ids=(), details=None
    ) -> None:
        """An event on the case's timeline (全链条见人见事), written with the change."""
        self.add(
            TimelineRecord(
                case_id=self.case.id,
                at=clock.now(),
                actor=actor,
                action=action,
                note=note,
                photo_ids=list(photo_ids),
                details=details or {},
            )
        )
