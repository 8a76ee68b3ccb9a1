"""Case files read under their row lock and written back by difference.

A change to a case locks its row first: an UPDATE that bumps its revision takes the
row lock on PostgreSQL and the write lock on SQLite, so no two changes advance one
case at once, and answers with the row as the lock holder sees it. Its open tasks
and deadline are read in the same batch (one round trip on PostgreSQL). What the
change does stays in the file until it is written, again as one batch: an UPDATE
per row that changed, an INSERT per new row.
"""

from sqlalchemy import bindparam, delete, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from models import (
    Case,
    Escalation,
    HumanTaskRow,
    PendingTimerRow,
    Photo,
    ReferenceRevision,
    StageDeadline,
    TimelineEvent,
    User,
)
from models.records import (
    CaseRecord,
    DeadlineRecord,
    EscalationRecord,
    PhotoRecord,
    Record,
    TaskRecord,
    TimelineRecord,
    TimerRecord,
)
from service.batches import Batch, Statement
from service.case_file import CaseFile
from service.reference_cache import prime_reference

_STORE = "suishoupai.case_store"

cases = Case.__table__
tasks = HumanTaskRow.__table__
deadlines = StageDeadline.__table__
escalations = Escalation.__table__
users = User.__table__
timers = PendingTimerRow.__table__

# Read with every case row: whose report it is, and the reference data's revision
# (which spares the transaction a statement to learn it).
_WITH_CASE = (
    select(users.c.name)
    .where(users.c.id == cases.c.reporter_id)
    .scalar_subquery()
    .label("reporter_name"),
    select(ReferenceRevision.revision).scalar_subquery().label("reference_revision"),
)
_CASE = (*cases.c, *_WITH_CASE)
_BUMP = update(cases).values(revision=cases.c.revision + 1).returning(*_CASE)


class _Reads:
    """The statements that read a case's file, the case found one way."""

    def __init__(self, case_row, case_id):
        self.case = Statement(case_row)
        self.open_tasks = Statement(
            select(*tasks.c, users.c.name.label("assignee_name"))
            .select_from(tasks.outerjoin(users, users.c.id == tasks.c.assignee_id))
            .where(tasks.c.case_id == case_id, tasks.c.closed_at.is_(None))
            .order_by(tasks.c.id)
        )
        self.open_deadline = Statement(
            select(deadlines)
            .where(deadlines.c.case_id == case_id, deadlines.c.closed_at.is_(None))
            .order_by(deadlines.c.id.desc())
            .limit(1)
        )


def _case_of_task():
    return (
        select(tasks.c.case_id)
        .where(tasks.c.id == bindparam("task_id"))
        .scalar_subquery()
    )


def _case_numbered():
    return (
        select(cases.c.id)
        .where(cases.c.number == bindparam("number"))
        .scalar_subquery()
    )


_BY_ID = bindparam("case_id")
LOCK = _Reads(_BUMP.where(cases.c.id == _BY_ID), _BY_ID)
LOCK_OF_TASK = _Reads(_BUMP.where(cases.c.id == _case_of_task()), _case_of_task())
# A case another transaction holds is passed over rather than waited for.
LOCK_UNLESS_HELD = _Reads(
    _BUMP.where(
        cases.c.id
        == select(cases.c.id)
        .where(cases.c.id == _BY_ID)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    ),
    _BY_ID,
)
READ = _Reads(select(*_CASE).where(cases.c.id == _BY_ID), _BY_ID)
READ_NUMBERED = _Reads(
    select(*_CASE).where(cases.c.id == _case_numbered()), _case_numbered()
)

CASE_ID_BY_NUMBER = select(cases.c.id).where(cases.c.number == bindparam("number"))
CASE_ID_BY_KEY = select(cases.c.id).where(
    cases.c.reporter_id == bindparam("reporter_id"),
    cases.c.idempotency_key == bindparam("key"),
)
TASK = (
    select(*tasks.c, users.c.name.label("assignee_name"))
    .select_from(tasks.outerjoin(users, users.c.id == tasks.c.assignee_id))
    .where(tasks.c.id == bindparam("task_id"))
)
CLOSED_TASKS_OF_ENGINE = (
    select(*tasks.c, users.c.name.label("assignee_name"))
    .select_from(tasks.outerjoin(users, users.c.id == tasks.c.assignee_id))
    .where(
        tasks.c.case_id == bindparam("case_id"),
        tasks.c.engine_id.in_(bindparam("engine_ids", expanding=True)),
        tasks.c.closed_at.is_not(None),
    )
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
DROP_TIMER = Statement(
    delete(timers).where(
        timers.c.case_id == bindparam("case_id"),
        timers.c.engine_id == bindparam("engine_id"),
    )
)
ANSWER_ROWS = {
    name: Statement(
        select(model.__table__)
        .where(model.__table__.c.case_id == bindparam("case_id"))
        .order_by(model.__table__.c.id)
    )
    for name, model in (("photos", Photo), ("timeline", TimelineEvent))
}
ANSWER_RECORDS = {"photos": PhotoRecord, "timeline": TimelineRecord}
USER_ID_BY_NAME = select(users.c.id).where(users.c.name == bindparam("name"))


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
        return self._read(LOCK, locked=True, case_id=case_id)

    def lock_of_task(self, task_id: int) -> CaseFile | None:
        """The file of the case a task belongs to, locked; None if no such task."""
        held = next(
            (f for f in self._files.values() if f.task(task_id) is not None), None
        )
        return held or self._read(LOCK_OF_TASK, locked=True, task_id=task_id)

    def lock_unless_held(self, case_id: int) -> CaseFile | None:
        """The case's file, locked; None if another transaction holds it now."""
        if case_id in self._files:
            return self._files[case_id]
        return self._read(LOCK_UNLESS_HELD, locked=True, case_id=case_id)

    def read(self, case_id: int) -> CaseFile | None:
        """The case's file as committed, without a lock: for answers, not changes."""
        if case_id in self._files:
            return self._files[case_id]
        return self._read(READ, locked=False, case_id=case_id)

    def read_number(self, number: str) -> CaseFile | None:
        """The file of the case with this number as committed, without a lock."""
        return self._read(READ_NUMBERED, locked=False, number=number)

    def _read(self, reads: _Reads, locked: bool, **params) -> CaseFile | None:
        with Batch(self.connection) as batch:
            found = batch.run(reads.case, **params)
            open_tasks = batch.run(reads.open_tasks, **params)
            deadline = batch.run(reads.open_deadline, **params)
        row = found.first()
        if row is None:
            return None
        if row["id"] in self._files:
            return self._files[row["id"]]
        prime_reference(self.session, row["reference_revision"])
        deadline = deadline.first()
        file = CaseFile(
            CaseRecord.loaded(row),
            [_task(values) for values in open_tasks.all()],
            DeadlineRecord.loaded(deadline) if deadline else None,
            locked=locked,
            reporter_name=row["reporter_name"],
        )
        if locked:
            self._files[file.case.id] = file
        return file

    def open_deadline(self, case_id: int) -> DeadlineRecord | None:
        """The open stage deadline of a case, for pages that show a case read
        otherwise."""
        with Batch(self.connection) as batch:
            found = batch.run(READ.open_deadline, case_id=case_id)
        row = found.first()
        return DeadlineRecord.loaded(row) if row else None

    def case_id(self, number: str) -> int | None:
        return self.connection.execute(
            CASE_ID_BY_NUMBER, {"number": number}
        ).scalar_one_or_none()

    def case_id_for_key(self, reporter_id: int, key: str) -> int | None:
        """The case a reporter's report with this Idempotency-Key made, if any."""
        return self.connection.execute(
            CASE_ID_BY_KEY, {"reporter_id": reporter_id, "key": key}
        ).scalar_one_or_none()

    def closed_task(self, file: CaseFile, task_id: int) -> TaskRecord:
        """A task of the case that is no longer open, as it was left."""
        row = self.connection.execute(TASK, {"task_id": task_id}).one()
        task = _task(row._mapping)
        task.case = file.case
        return task

    def reopen(self, file: CaseFile, engine_ids) -> None:
        """Open again, as they were left, the case's closed tasks of these engine
        ids: an instance put back to an earlier state waits on them once more."""
        for row in self.connection.execute(
            CLOSED_TASKS_OF_ENGINE,
            {"case_id": file.case.id, "engine_ids": list(engine_ids)},
        ):
            task = _task(row._mapping)
            task.case = file.case
            file.track(task)
            task.closed_at = task.outcome = None
            file.tasks.append(task)

    def open_escalations(self, file: CaseFile) -> list[EscalationRecord]:
        """The case's open escalations, read once per file and kept in step."""
        if file.escalations is None:
            # Every change of the rungs sets the level, so level 0 means none is open.
            file.escalations = (
                [
                    file.track(EscalationRecord.loaded(row._mapping))
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
            file.track(TimerRecord.loaded(row._mapping))
            for row in self.connection.execute(TIMERS, {"case_id": file.case.id})
        ]

    def rows(self, record_type: type[Record], *conditions, order_by=None) -> list:
        """Stored rows of one table as records, for the rarer reads of a change."""
        table = record_type.table
        query = select(table).where(*conditions)
        if order_by is not None:
            query = query.order_by(order_by)
        return [
            record_type.loaded(row._mapping) for row in self.connection.execute(query)
        ]

    def answer_rows(self, file: CaseFile) -> dict[str, list]:
        """Write what this transaction changed, then read the case's photos and
        timeline for its answer, oldest first: one batch, one round trip."""
        if file.created:
            # All a new case has is in its file.
            self.save_all()
            return {
                name: [r for r in file.tracked if isinstance(r, kind)]
                for name, kind in (
                    ("photos", PhotoRecord),
                    ("timeline", TimelineRecord),
                )
            }
        with Batch(self.connection) as batch:
            written = [_write(held, batch) for held in self._files.values()]
            results = {
                name: batch.run(statement, case_id=file.case.id)
                for name, statement in ANSWER_ROWS.items()
            }
        for done in written:
            done()
        return {name: result.all() for name, result in results.items()}

    def user_id(self, name: str) -> int | None:
        return self.connection.execute(
            USER_ID_BY_NAME, {"name": name}
        ).scalar_one_or_none()

    # Writing

    def create(self, case: CaseRecord, reporter_name: str) -> CaseFile:
        """A new case, inserted now for its id; its file is held as if locked."""
        self.insert_all([case])
        file = CaseFile(case, [], None, reporter_name=reporter_name, created=True)
        self._files[case.id] = file
        return file

    def insert(self, record: Record) -> Record:
        """Insert a row now, when its id is needed before the file is written."""
        self.insert_all([record])
        return record

    def insert_all(self, records: list[Record]) -> None:
        with Batch(self.connection) as batch:
            inserted = [(record, _insert(batch, record)) for record in records]
        for record, result in inserted:
            record.id = result.scalar()
            record.mark_stored()

    def save_all(self) -> None:
        """Write every file of this transaction, in one batch."""
        with Batch(self.connection) as batch:
            written = [_write(file, batch) for file in self._files.values()]
        for done in written:
            done()

    def forget(self) -> None:
        self._files.clear()


def _write(file: CaseFile, batch: Batch):
    """Queue the file's changes in the batch; what to note once it is sent."""
    added, file.added = file.added, []
    updated = [record for record in file.tracked if _update(batch, record)]
    inserted = [(r, _insert(batch, r)) for r in added if not r.is_stored]
    for engine_id in sorted(file.dropped_timers):
        batch.run(DROP_TIMER, case_id=file.case.id, engine_id=engine_id)
    file.dropped_timers = set()

    def done() -> None:
        for record in updated:
            record.mark_stored()
        for record, result in inserted:
            record.id = result.scalar()
            record.mark_stored()
        for record in added:
            file.track(record)
        file.tasks = file.open_tasks

    return done


# Statements that write records, one per table and set of columns written.
_WRITES: dict[tuple, Statement] = {}


def _insert(batch: Batch, record: Record):
    values = record.values()
    key = ("insert", record.table.name, tuple(values))
    statement = _WRITES.get(key)
    if statement is None:
        table = record.table
        statement = _WRITES[key] = Statement(
            insert(table)
            .values({name: bindparam(name) for name in values})
            .returning(table.c.id)
        )
    return batch.run(statement, **values)


def _update(batch: Batch, record: Record) -> bool:
    changes = record.changes()
    if not changes:
        return False
    key = ("update", record.table.name, tuple(changes))
    statement = _WRITES.get(key)
    if statement is None:
        table = record.table
        statement = _WRITES[key] = Statement(
            update(table)
            .where(table.c.id == bindparam("record_id"))
            .values({name: bindparam(name) for name in changes})
        )
    batch.run(statement, record_id=record.id, **changes)
    return True


def _task(values) -> TaskRecord:
    task = TaskRecord.loaded(values)
    task.assignee_name = values["assignee_name"]
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
