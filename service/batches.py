"""Statements sent to the database together, run on its driver's own cursor.

A case step reads and writes a dozen rows. Through SQLAlchemy's execution layer
each statement costs more in Python than SQLite takes to run it, and on PostgreSQL
each is a round trip. Here a Core statement is compiled once per dialect, its
parameters and results converted by the columns' own types exactly as SQLAlchemy
converts them, and the statements of a batch go to PostgreSQL in one pipeline:
one round trip for all of them. On SQLite, in-process, they run one by one.
"""

from collections.abc import Mapping

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


class Statement:
    """A Core statement, compiled for each dialect the first time it runs there."""

    def __init__(self, core: Executable):
        self.core = core
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> "_Compiled":
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.core, dialect)
        return compiled


class _Compiled:
    """The SQL text of one dialect, and how values go in and rows come out."""

    def __init__(self, core: Executable, dialect: Dialect):
        compiled = core.compile(dialect=dialect)
        self.sql = compiled.string
        self.positions = compiled.positiontup
        # Literals of the statement (`revision + 1`) are parameters too.
        self.defaults, self.binds = {}, {}
        for bind, name in compiled.bind_names.items():
            if not bind.required:
                self.defaults[name] = bind.effective_value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds[name] = process
        self.dialect = dialect
        self.types = [column.type for column in _result_columns(core)]
        self.columns = tuple(_result_columns(core).keys())
        self.results = None

    def parameters(self, values: Mapping):
        params = {**self.defaults, **values}
        for name, process in self.binds.items():
            params[name] = process(params[name])
        if self.positions:
            return [params[name] for name in self.positions]
        return params

    def rows(self, raw_rows, description) -> list[dict]:
        if self.results is None:
            # As SQLAlchemy does: the driver's own column type picks the conversion.
            dialect = self.dialect
            self.results = tuple(
                kind.dialect_impl(dialect).result_processor(dialect, column[1])
                for kind, column in zip(self.types, description, strict=True)
            )
        columns, results = self.columns, self.results
        return [
            {
                name: process(value) if process else value
                for name, process, value in zip(columns, results, raw, strict=True)
            }
            for raw in raw_rows
        ]


def _result_columns(core):
    if hasattr(core, "selected_columns"):
        return core.selected_columns
    return core.exported_columns


class Result:
    """The rows a statement of a batch returned, once the batch has been sent."""

    def __init__(self, compiled: _Compiled, params):
        self.compiled = compiled
        self.params = params
        self._cursor = None
        self._rows: list[dict] | None = None

    def send(self, driver) -> None:
        self._cursor = driver.cursor()
        self._cursor.execute(self.compiled.sql, self.params)

    @property
    def answered(self) -> bool:
        """Whether the database has answered this statement (PostgreSQL)."""
        return self._cursor is not None and self._cursor.pgresult is not None

    def fetch(self) -> None:
        cursor = self._cursor
        if self.compiled.columns:
            self._rows = self.compiled.rows(cursor.fetchall(), cursor.description)
        else:
            self._rows = []
        cursor.close()

    def all(self) -> list[dict]:
        if self._rows is None:
            raise RuntimeError("read a batch's results after it has been sent")
        return self._rows

    def first(self) -> dict | None:
        rows = self.all()
        return rows[0] if rows else None

    def scalar(self):
        row = self.first()
        return next(iter(row.values())) if row else None


class Batch:
    """Statements run in the connection's transaction, in the order given.

    Use it as a context manager: the statements are sent when the block ends, and
    their results read after it. On PostgreSQL, two or more go in one pipeline;
    a single one goes alone, which costs the driver less.
    """

    def __init__(self, connection: Connection):
        self.connection = connection
        self.dialect = connection.dialect
        self.driver = connection.connection.driver_connection
        self._queued: list[Result] = []
        self._failed: Result | None = None

    def __enter__(self) -> "Batch":
        return self

    def run(self, statement: Statement, **values) -> Result:
        compiled = statement.compiled(self.dialect)
        result = Result(compiled, compiled.parameters(values))
        self._queued.append(result)
        return result

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None or not self._queued:
            return
        error_type = self.dialect.loaded_dbapi.Error
        try:
            if len(self._queued) > 1 and self.dialect.name == "postgresql":
                self._pipelined()
            else:
                self._one_by_one()
        except error_type as failure:
            lost = self.dialect.is_disconnect(failure, self.driver, None)
            if lost:
                # As SQLAlchemy does itself: this connection is thrown away (the
                # transaction's rollback does not touch it), and so are the others
                # of its pool, opened before the database went away.
                self.connection.invalidate(failure)
                self.connection.engine.dispose(close=False)
            # As SQLAlchemy would raise it (IntegrityError...), naming the statement.
            failed = self._failed
            raise DBAPIError.instance(
                failed.compiled.sql,
                failed.params,
                failure,
                error_type,
                connection_invalidated=lost,
                dialect=self.dialect,
            ) from None

    def _one_by_one(self) -> None:
        for result in self._queued:
            self._failed = result
            result.send(self.driver)
            result.fetch()

    def _pipelined(self) -> None:
        try:
            with self.driver.pipeline():
                for result in self._queued:
                    result.send(self.driver)
        except self.dialect.loaded_dbapi.Error:
            # The statements before the failing one have their results; it has none.
            self._failed = next(r for r in self._queued if not r.answered)
            raise
        for result in self._queued:
            result.fetch()
