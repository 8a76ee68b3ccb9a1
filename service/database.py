"""The database engine and sessions, with SQLite tuned for one writer at a time."""

import time
from contextlib import contextmanager

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from models import schema
from service.reference_cache import CACHE_KEY, ReferenceCache
from service.settings import SettingsError
from service.sql_functions import add_sqlite_functions

# Any 64-bit number names a PostgreSQL advisory lock; this one, preparing the database.
PREPARATION_LOCK = 0x5355_4953_484F_5550  # "SUISHOUP"


def driver_url(url: str) -> str:
    """Name psycopg 3 as the driver of a plain postgresql:// URL."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str, idle_ping_seconds: float = 10.0) -> Engine:
    url = driver_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _tune_sqlite)
            return engine
        engine = create_engine(url)
        _ping_idle_connections(engine, idle_ping_seconds)
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as error:
        raise SettingsError(
            f"SUISHOUPAI_DATABASE_URL names no database this service can open ({error})"
        ) from error
    return engine


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before it is handed out, if it sat unused.

    The database may have restarted meanwhile. A connection in steady use is not
    pinged, which spares every request a round trip; should its database be gone
    all the same, that request fails as in any outage (503) and the pool starts
    afresh.
    """

    def note_idle(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # just opened, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool throws this connection away and opens a fresh one.
            raise DisconnectionError("the pooled connection is gone") from error

    event.listen(engine, "checkin", note_idle)
    event.listen(engine, "checkout", ping_if_idle)


def _tune_sqlite(connection, _record):
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    add_sqlite_functions(connection)


class Database:
    """One engine and its session factory, shared by requests, jobs and commands."""

    def __init__(self, url: str, idle_ping_seconds: float = 10.0):
        self.engine = make_engine(url, idle_ping_seconds)
        # Every session of this database shares one cache of the reference data.
        self.sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={CACHE_KEY: ReferenceCache()}
        )

    def upgrade(self) -> None:
        """Bring the tables up to the newest migration."""
        schema.upgrade(self.engine)

    @contextmanager
    def preparation_lock(self):
        """While held, no other process prepares this database.

        Machines started together on one PostgreSQL database migrate, seed and
        deploy one after another, and the later ones find the work done. The lock
        goes with the connection that holds it, so a process that dies frees it.
        SQLite serves one machine, whose `serve` prepares before its workers start.
        """
        if self.engine.dialect.name != "postgresql":
            yield
            return
        with self.engine.connect() as connection:
            connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": PREPARATION_LOCK}
            )
            connection.commit()
            try:
                yield
            finally:
                # Closing the connection frees the lock without another round trip.
                connection.invalidate()

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
