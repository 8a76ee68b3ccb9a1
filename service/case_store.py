"""Case files read under their row lock and written back by difference, in Core.

A change to a case locks its row first: an UPDATE that bumps its revision takes the
row lock on PostgreSQL and the write lock on SQLite, so no two changes advance one
case at once, and answers with the row as the lock holder sees it. Its open tasks
and deadline follow in two statements. What the change does stays in the file until
it is written: one UPDATE per row that changed, one INSERT per new row.
"""

from sqlalchemy import bindparam, delete, event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from models import (
    Case,
    Escalation,
    HumanTaskRow,
    PendingTimerRow,
    Photo,
    StageDeadline,
    TimelineEvent,
    User,
)
from models.records import (
    CaseRecord,
    DeadlineRecord,
    EscalationRecord,
    Record,
    TaskRecord,
    TimerRecord,
)
from service.case_file import CaseFile

_STORE = "suishoupai.case_store"

cases = Case.__table__
tasks = HumanTaskRow.__table__
deadlines = StageDeadline.__table__
escalations = Escalation.__table__
users = User.__table__
timers = PendingTimerRow.__table__

_BUMP = update(cases).values(revision=cases.c.revision + 1).returning(*cases.c)
LOCK = _BUMP.where(cases.c.id == bindparam("case_id"))
LOCK_OF_TASK = _BUMP.where(
    cases.c.id
    == select(tasks.c.case_id)
    .where(tasks.c.id == bindparam("task_id"))
    .scalar_subquery()
)
# A case another transaction holds is passed over rather than waited for.
LOCK_UNLESS_HELD = _BUMP.where(
    cases.c.id
    == select(cases.c.id)
    .where(cases.c.id == bindparam("case_id"))
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
CASE = select(cases).where(cases.c.id == bindparam("case_id"))
CASE_ID_BY_NUMBER = select(cases.c.id).where(cases.c.number == bindparam("number"))
CASE_ID_BY_KEY = select(cases.c.id).where(
    cases.c.reporter_id == bindparam("reporter_id"),
    cases.c.idempotency_key == bindparam("key"),
)
OPEN_TASKS = (
    select(*tasks.c, users.c.name.label("assignee_name"))
    .select_from(tasks.outerjoin(users, users.c.id == tasks.c.assignee_id))
    .where(tasks.c.case_id == bindparam("case_id"), tasks.c.closed_at.is_(None))
    .order_by(tasks.c.id)
)
TASK = (
    select(*tasks.c, users.c.name.label("assignee_name"))
    .select_from(tasks.outerjoin(users, users.c.id == tasks.c.assignee_id))
    .where(tasks.c.id == bindparam("task_id"))
)
OPEN_DEADLINE = (
    select(deadlines)
    .where(deadlines.c.case_id == bindparam("case_id"), deadlines.c.closed_at.is_(None))
    .order_by(deadlines.c.id.desc())
    .limit(1)
)
OPEN_ESCALATIONS = (
    select(escalations)
    .where(
        escalations.c.case_id == bindparam("case_id"),
        escalations.c.closed_at.is_(None),
    )
    .order_by(escalations.c.id)
)
TIMERS = select(timers).where(timers.c.case_id == bindparam("case_id"))
CHILDREN = {
    model: select(model.__table__)
    .where(model.__table__.c.case_id == bindparam("case_id"))
    .order_by(model.__table__.c.id)
    for model in (Photo, TimelineEvent)
}
CASE_BY_NUMBER = select(cases).where(cases.c.number == bindparam("number"))
USER_ID_BY_NAME = select(users.c.id).where(users.c.name == bindparam("name"))
USER_NAME = select(users.c.name).where(users.c.id == bindparam("user_id"))


class CaseStore:
    """The case files of one transaction: each case locked and read once."""

    def __init__(self, session: Session):
        self.session = session
        self._files: dict[int, CaseFile] = {}

    @classmethod
    def of(cls, session: Session) -> "CaseStore":
        store = session.info.get(_STORE)
        if store is None:
            store = session.info[_STORE] = cls(session)
        return store

    @property
    def connection(self) -> Connection:
        return self.session.connection()

    # Locking and reading

    def lock(self, case_id: int) -> CaseFile | None:
        """The case's file, its row locked until the transaction ends."""
        if case_id in self._files:
            return self._files[case_id]
        return self._locked(LOCK, case_id=case_id)

    def lock_of_task(self, task_id: int) -> CaseFile | None:
        """The file of the case a task belongs to, locked; None if no such task."""
        held = next(
            (f for f in self._files.values() if f.task(task_id) is not None), None
        )
        return held or self._locked(LOCK_OF_TASK, task_id=task_id)

    def lock_unless_held(self, case_id: int) -> CaseFile | None:
        """The case's file, locked; None if another transaction holds it now."""
        if case_id in self._files:
            return self._files[case_id]
        return self._locked(LOCK_UNLESS_HELD, case_id=case_id)

    def _locked(self, statement, **params) -> CaseFile | None:
        row = self.connection.execute(statement, params).one_or_none()
        if row is None:
            return None
        case = CaseRecord.loaded(row)
        if case.id in self._files:
            return self._files[case.id]
        file = self._load(case, locked=True)
        self._files[case.id] = file
        return file

    def read(self, case_id: int) -> CaseFile | None:
        """The case's file as committed, without a lock: for answers, not changes."""
        if case_id in self._files:
            return self._files[case_id]
        row = self.connection.execute(CASE, {"case_id": case_id}).one_or_none()
        return self._load(CaseRecord.loaded(row), locked=False) if row else None

    def read_number(self, number: str) -> CaseFile | None:
        """The file of the case with this number as committed, without a lock."""
        row = self.connection.execute(CASE_BY_NUMBER, {"number": number}).one_or_none()
        if row is None:
            return None
        case = CaseRecord.loaded(row)
        return self._files.get(case.id) or self._load(case, locked=False)

    def children(self, model, file: CaseFile) -> list:
        """The case's photos or timeline events, oldest first, as rows."""
        return self.connection.execute(CHILDREN[model], {"case_id": file.case.id}).all()

    def case_id(self, number: str) -> int | None:
        return self.connection.execute(
            CASE_ID_BY_NUMBER, {"number": number}
        ).scalar_one_or_none()

    def case_id_for_key(self, reporter_id: int, key: str) -> int | None:
        """The case a reporter's report with this Idempotency-Key made, if any."""
        return self.connection.execute(
            CASE_ID_BY_KEY, {"reporter_id": reporter_id, "key": key}
        ).scalar_one_or_none()

    def _load(self, case: CaseRecord, locked: bool) -> CaseFile:
        open_tasks = [
            _task(row)
            for row in self.connection.execute(OPEN_TASKS, {"case_id": case.id})
        ]
        return CaseFile(case, open_tasks, self.open_deadline(case.id), locked=locked)

    def open_deadline(self, case_id: int) -> DeadlineRecord | None:
        row = self.connection.execute(OPEN_DEADLINE, {"case_id": case_id}).one_or_none()
        return DeadlineRecord.loaded(row) if row else None

    def closed_task(self, file: CaseFile, task_id: int) -> TaskRecord:
        """A task of the case that is no longer open, as it was left."""
        row = self.connection.execute(TASK, {"task_id": task_id}).one()
        task = _task(row)
        task.case = file.case
        return task

    def open_escalations(self, file: CaseFile) -> list[EscalationRecord]:
        """The case's open escalations, read once per file and kept in step."""
        if file.escalations is None:
            # Every change of the rungs sets the level, so level 0 means none is open.
            file.escalations = (
                [
                    file.track(EscalationRecord.loaded(row))
                    for row in self.connection.execute(
                        OPEN_ESCALATIONS, {"case_id": file.case.id}
                    )
                ]
                if file.case.escalation_level
                else []
            )
        return file.escalations

    def timers(self, file: CaseFile) -> list[TimerRecord]:
        return [
            file.track(TimerRecord.loaded(row))
            for row in self.connection.execute(TIMERS, {"case_id": file.case.id})
        ]

    def rows(self, record_type: type[Record], *conditions, order_by=None) -> list:
        """Stored rows of one table as records, for the rarer reads of a change."""
        table = record_type.table
        query = select(table).where(*conditions)
        if order_by is not None:
            query = query.order_by(order_by)
        return [record_type.loaded(row) for row in self.connection.execute(query)]

    def user_id(self, name: str) -> int | None:
        return self.connection.execute(
            USER_ID_BY_NAME, {"name": name}
        ).scalar_one_or_none()

    def user_name(self, user_id: int) -> str | None:
        return self.connection.execute(
            USER_NAME, {"user_id": user_id}
        ).scalar_one_or_none()

    # Writing

    def create(self, case: CaseRecord) -> CaseFile:
        """A new case, inserted now for its id; its file is held as if locked."""
        self.insert(case)
        file = CaseFile(case, [], None)
        self._files[case.id] = file
        return file

    def insert(self, record: Record) -> Record:
        """Insert a row now, when its id is needed before the file is written."""
        result = self.connection.execute(record.table.insert(), record.values())
        if getattr(record, "id", None) is None and "id" in record.columns:
            record.id = result.inserted_primary_key[0]
        record.mark_stored()
        return record

    def save(self, file: CaseFile) -> None:
        """Write what changed in the file: updated rows, then new ones, then drops."""
        connection = self.connection
        for record in file.tracked:
            changes = record.changes()
            if changes:
                table = record.table
                connection.execute(
                    update(table).where(table.c.id == record.id).values(changes)
                )
                record.mark_stored()
        added, file.added = file.added, []
        for record in added:
            if not record.is_stored:
                self.insert(record)
            file.track(record)
        if file.dropped_timers:
            connection.execute(
                delete(timers).where(
                    timers.c.case_id == file.case.id,
                    timers.c.engine_id.in_(sorted(file.dropped_timers)),
                )
            )
            file.dropped_timers = set()
        file.tasks = file.open_tasks

    def save_all(self) -> None:
        for file in self._files.values():
            self.save(file)

    def forget(self) -> None:
        self._files.clear()


def _task(row) -> TaskRecord:
    task = TaskRecord.loaded(row)
    task.assignee_name = row.assignee_name
    return task


@event.listens_for(Session, "before_commit")
def _save_files(session: Session) -> None:
    # Each change writes its file itself; this keeps a file nobody wrote from
    # being lost silently at commit.
    store = session.info.get(_STORE)
    if store is not None:
        store.save_all()


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    # The locks are gone with the transaction: a later one reads the cases afresh.
    store = session.info.pop(_STORE, None)
    if store is not None:
        store.forget()
