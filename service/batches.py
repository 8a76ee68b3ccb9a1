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

    def __init__(self, compiled: _Compiled, cursor):
        self._compiled = compiled
        self._cursor = cursor
        self._rows: list[dict] | None = None

    def fetch(self) -> None:
        if self._compiled.columns:
            cursor = self._cursor
            self._rows = self._compiled.rows(cursor.fetchall(), cursor.description)
        else:
            self._rows = []
        self._cursor.close()

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
    """Statements run in the connection's transaction, sent together on PostgreSQL.

    Use it as a context manager: results can be read once the block has ended.
    """

    def __init__(self, connection: Connection):
        self.dialect = connection.dialect
        self.driver = connection.connection.driver_connection
        self.pipelined = self.dialect.name == "postgresql"
        self._pending: list[Result] = []
        self._pipeline = None

    def __enter__(self) -> "Batch":
        return self

    def run(self, statement: Statement, **values) -> Result:
        if self.pipelined and self._pipeline is None:
            # Entered with the first statement: a batch with none sends nothing.
            self._pipeline = self.driver.pipeline()
            self._pipeline.__enter__()
        compiled = statement.compiled(self.dialect)
        params = compiled.parameters(values)
        cursor = self.driver.cursor()
        try:
            cursor.execute(compiled.sql, params)
        except self.dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy_error(compiled, params, error, self.dialect) from None
        result = Result(compiled, cursor)
        if self.pipelined:
            self._pending.append(result)
        else:
            result.fetch()
        return result

    def __exit__(self, kind, error, traceback) -> None:
        if self._pipeline is None:
            return
        try:
            self._pipeline.__exit__(kind, error, traceback)
            if kind is None:
                for result in self._pending:
                    result.fetch()
        except self.dialect.loaded_dbapi.Error as failure:
            if kind is not None:
                return  # the error that stopped the block tells more
            raise DBAPIError.instance(
                None, None, failure, self.dialect.loaded_dbapi.Error
            ) from None


def _as_sqlalchemy_error(compiled, params, error, dialect) -> DBAPIError:
    """The driver's error as SQLAlchemy would have raised it (IntegrityError...)."""
    return DBAPIError.instance(
        compiled.sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect
    )
