"""SQL expressions that read the same on SQLite and PostgreSQL, compiled per dialect."""

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


def add_sqlite_functions(connection) -> None:
    """What SQLite lacks, written in Python, on each new connection."""
    # SQLite's own lower() folds ASCII letters only.
    connection.create_function("unicode_lower", 1, _lower, deterministic=True)


def _lower(text):
    return text.lower() if isinstance(text, str) else text


class lower_text(FunctionElement):
    """Text in lower case, every letter of it, as Python's str.lower() has it."""

    type = String()
    name = "lower_text"
    inherit_cache = True


@compiles(lower_text)
def _lower_text(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(lower_text, "sqlite")
def _lower_text_sqlite(element, compiler, **kw):
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


class seconds_between(FunctionElement):
    """Seconds from the first timestamp to the second."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"
