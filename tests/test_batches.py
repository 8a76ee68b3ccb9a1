"""Statements run on the driver give what SQLAlchemy gives, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from models.base import UtcDateTime
from service.batches import Batch, Statement
from service.database import make_engine
from tests.conftest import BACKENDS, ScratchDatabase

metadata = MetaData()
samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
    Column("at", UtcDateTime),
    Column("details", JSON),
    Column("amount", Float),
)
ADD = Statement(
    insert(samples)
    .values({name: bindparam(name) for name in ("name", "at", "details", "amount")})
    .returning(samples.c.id)
)
ALL = Statement(select(samples).order_by(samples.c.id))
RENAME = Statement(
    update(samples)
    .where(samples.c.id == bindparam("sample_id"))
    .values(name=bindparam("name"))
)
SAMPLE = {
    "name": "first",
    # An offset other than UTC: stored and read back as the same moment, in UTC.
    "at": datetime(
        2026, 12, 4, 18, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8))
    ),
    "details": {"stage": "triage", "photos": [1, 2], "late": None},
    "amount": 2.5,
}


@pytest.fixture(params=BACKENDS)
def connection(request, tmp_path):
    scratch = None
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'batches.db'}")
    else:
        scratch = ScratchDatabase()
        engine = make_engine(scratch.url)
    metadata.create_all(engine)
    try:
        with engine.connect() as connection, connection.begin():
            yield connection
    finally:
        engine.dispose()
        if scratch:
            scratch.drop()


def test_rows_come_back_as_sqlalchemy_reads_them(connection):
    with Batch(connection) as batch:
        added = batch.run(ADD, **SAMPLE)
        read = batch.run(ALL)

    expected = [dict(row._mapping) for row in connection.execute(select(samples))]
    assert read.all() == expected
    assert added.scalar() == expected[0]["id"]
    assert expected[0]["at"] == SAMPLE["at"] and expected[0]["at"].tzinfo == UTC
    assert expected[0]["details"] == SAMPLE["details"]


def test_statements_of_a_batch_run_in_order_and_see_each_other(connection):
    with Batch(connection) as batch:
        added = batch.run(ADD, **SAMPLE)
    with Batch(connection) as batch:
        batch.run(RENAME, sample_id=added.scalar(), name="renamed")
        read = batch.run(ALL)

    assert [row["name"] for row in read.all()] == ["renamed"]


def test_a_batch_of_one_statement_is_sent_as_well(connection):
    with Batch(connection) as batch:
        batch.run(ADD, **SAMPLE)
    with Batch(connection) as batch:
        read = batch.run(ALL)

    assert [row["name"] for row in read.all()] == ["first"]


def test_a_failing_statement_raises_what_sqlalchemy_would_naming_it(connection):
    with Batch(connection) as batch:
        batch.run(ADD, **SAMPLE)

    with pytest.raises(IntegrityError) as refused, Batch(connection) as batch:
        batch.run(ALL)
        batch.run(ADD, **SAMPLE)  # the same name again

    assert "INSERT INTO samples" in str(refused.value)


def test_results_are_read_only_after_the_batch_is_sent(connection):
    with Batch(connection) as batch:
        pending = batch.run(ALL)
        with pytest.raises(RuntimeError):
            pending.all()
