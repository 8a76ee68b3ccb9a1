"""The bare SQL behind a call: the statements it sends, timed and explained alone."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: object


@dataclass(frozen=True)
class BareSql:
    """What a call's queries cost alone: their count, summed time, slowest plan."""

    statements: int
    ms: float
    plan: list[str]


def bare_sql(engine: Engine, call: Callable[[], object], repeats: int) -> BareSql:
    """Run `call` once to see its queries, then time each alone on a bare connection."""
    queries = [
        statement
        for statement in statements_of(engine, call)
        if statement.sql.lstrip().upper().startswith("SELECT")
    ]
    timings = [time_statement(engine, query, repeats) for query in queries]
    slowest = queries[timings.index(max(timings))]
    return BareSql(len(queries), sum(timings), query_plan(engine, slowest))


def statements_of(engine: Engine, call: Callable[[], object]) -> list[Statement]:
    """Every statement `call` sends through `engine`, as the driver receives it."""
    captured = []

    def capture(_connection, _cursor, sql, parameters, _context, _many):
        captured.append(Statement(sql, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return captured


def time_statement(engine: Engine, statement: Statement, repeats: int) -> float:
    """Median ms to run the statement and fetch every row, on a bare connection."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(statement.sql, statement.parameters)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        connection.rollback()
    finally:
        connection.close()
    return statistics.median(timings)


def query_plan(engine: Engine, statement: Statement) -> list[str]:
    """The database's plan for the statement, one line per step."""
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(prefix + statement.sql, statement.parameters)
        rows = cursor.fetchall()
        connection.rollback()
    finally:
        connection.close()
    return [row[3] if sqlite else row[0] for row in rows]
