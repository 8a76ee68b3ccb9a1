"""The database engine and sessions, with SQLite tuned for one writer at a time."""

from contextlib import contextmanager

from sqlalchemy import String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import FunctionElement

from models import schema
from service.reference_cache import CACHE_KEY, ReferenceCache


def driver_url(url: str) -> str:
    """Name psycopg 3 as the driver of a plain postgresql:// URL."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str) -> Engine:
    url = driver_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _tune_sqlite(connection, _record):
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
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


class Database:
    """One engine and its session factory, shared by requests, jobs and commands."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        # Every session of this database shares one cache of the reference data.
        self.sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={CACHE_KEY: ReferenceCache()}
        )

    def upgrade(self) -> None:
        """Bring the tables up to the newest migration."""
        schema.upgrade(self.engine)

    @contextmanager
    def transaction(self):
        """A session committed when the block ends, rolled back if it raises."""
        session: Session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            roll_back(session)
            raise
        finally:
            session.close()


def roll_back(session: Session) -> None:
    """Roll back, and undo what the transaction wrote outside the database (files)."""
    session.rollback()
    for undo in session.info.pop("on_rollback", []):
        undo()
