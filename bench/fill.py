"""Filling the tables fast: open cases cloned from one real case by bulk inserts."""

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from models import Base

# In a group, so that splitting on it puts every id at an odd index.
UUID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
ISO_TIME = re.compile(
    r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"'
)
# What the sweeps look up by time; a case is due when one of these has passed.
DUE_COLUMNS = {"pending_timers": "due_at", "stage_deadlines": "next_check_at"}
BATCH = 1000
# Clones are spread over the last hours, so the queue has many distinct due times.
SPREAD = timedelta(hours=6)


@dataclass
class Template:
    """One real case's rows: the case and every row that names it."""

    case: dict
    children: dict[str, list[dict]]

    @classmethod
    def read(cls, engine: Engine, number: str) -> "Template":
        cases = Base.metadata.tables["cases"]
        with engine.connect() as connection:
            case = connection.execute(select(cases).where(cases.c.number == number))
            case = dict(case.mappings().one())
            children = {}
            for table in _child_tables():
                rows = connection.execute(
                    select(table).where(table.c.case_id == case["id"])
                ).mappings()
                # A clone's rows get their ids from the database.
                children[table.name] = [
                    {key: value for key, value in row.items() if key != "id"}
                    for row in rows
                ]
        return cls(case, children)

    def first_due(self) -> datetime:
        """When the sweep would first have work on this case."""
        times = [
            row[column]
            for name, column in DUE_COLUMNS.items()
            for row in self.children.get(name, [])
            if row.get(column) is not None
        ]
        if not times:
            raise RuntimeError("the template case has nothing a sweep would fire")
        return min(times)


def fill(engine: Engine, template: Template, count: int, due_every: int) -> None:
    """Insert `count` open cases like the template; every `due_every`-th is due.

    A clone is the template moved back in time, every timestamp together (rows and
    engine state); a due clone so far back that its first deadline passed a minute
    ago. Each clone gets fresh engine task ids, in its instance and its rows, so
    any of them can be advanced like a case the service made itself.
    """
    now = datetime.now(UTC)
    lead = template.first_due() - now
    overdue = lead + timedelta(minutes=1)
    spread = min(SPREAD, lead / 2)
    cases = Base.metadata.tables["cases"]
    with engine.connect() as connection:
        first_id = connection.execute(select(func.max(cases.c.id))).scalar() + 1
    prefix = template.case["number"].rsplit("-", 1)[0]
    clone = _Cloner(template)

    for start in range(0, count, BATCH):
        rows = {"cases": [], **{name: [] for name in template.children}}
        for n in range(start, min(start + BATCH, count)):
            age = overdue if n % due_every == 0 else spread * (n / count)
            case_id = first_id + n
            case, children = clone(case_id, f"{prefix}-{case_id:05d}", age)
            rows["cases"].append(case)
            for name, child_rows in children.items():
                rows[name] += child_rows
        with engine.begin() as connection:
            for name, batch in rows.items():
                if batch:
                    connection.execute(Base.metadata.tables[name].insert(), batch)

    if engine.dialect.name == "postgresql":
        _settle_postgres(engine)


class _Cloner:
    """Copies of the template with fresh engine ids, moved back by some age."""

    def __init__(self, template: Template):
        self.template = template
        self.parts = UUID.split(template.case["instance"])
        self.ids = sorted(set(self.parts[1::2]))

    def __call__(self, case_id: int, number: str, age: timedelta):
        fresh = {old: str(uuid.uuid4()) for old in self.ids}
        parts = self.parts[:]
        parts[1::2] = [fresh[old] for old in self.parts[1::2]]
        case = _moved(self.template.case, fresh, age)
        case.update(
            id=case_id,
            number=number,
            idempotency_key=None,
            instance=_moved_text("".join(parts), age),
        )
        children = {
            name: [{**_moved(row, fresh, age), "case_id": case_id} for row in rows]
            for name, rows in self.template.children.items()
        }
        return case, children


def _moved(row: dict, fresh: dict, age: timedelta) -> dict:
    """The row with its times moved back by `age` and its engine ids replaced."""
    moved = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value -= age
        elif isinstance(value, str) and value in fresh:
            value = fresh[value]
        moved[key] = value
    return moved


def _moved_text(state: str, age: timedelta) -> str:
    """Engine state with every ISO timestamp in it moved back by `age`."""
    if not age:
        return state
    return ISO_TIME.sub(
        lambda match: f'"{(datetime.fromisoformat(match[1]) - age).isoformat()}"',
        state,
    )


def _child_tables():
    return [
        table
        for table in Base.metadata.sorted_tables
        if "case_id" in table.c and table.name != "cases"
    ]


def _settle_postgres(engine: Engine) -> None:
    """Move the case id sequence past the given ids; gather the planner's stats."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                "(SELECT max(id) FROM cases))"
            )
        )
        # Autovacuum would do this soon after such inserts; a live database has it.
        db.execute(text("ANALYZE"))
        # Writing out the bulk load now keeps its checkpoint out of the measurements;
        # it needs a superuser (or pg_checkpoint), and is only skipped without one.
        with contextlib.suppress(DBAPIError):
            db.execute(text("CHECKPOINT"))
