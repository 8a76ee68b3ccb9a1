"""A service under test: its database, its users, its server process, its app."""

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from flask import Flask
from sqlalchemy.engine import make_url

from service.app import create_app
from service.database import driver_url
from service.logs import CaseFormatter
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Who the benchmarks act as: name -> (role, department).
USERS = {
    "deputy": ("reporter", None),
    "office": ("triage", None),
    "water-liaison": ("handler", "water"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def scratch_database(backend: str, folder: Path, postgres_url: str):
    """A fresh, empty database URL: a SQLite file, or a PostgreSQL db dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'suishoupai.db'}"
        return
    name = f"ssp_bench_{uuid.uuid4().hex[:12]}"
    admin = make_url(driver_url(postgres_url)).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Site:
    """One instance folder and database, with the users every benchmark acts as."""

    folder: Path
    database_url: str
    tokens: dict = field(default_factory=dict)
    _app: Flask | None = None

    @property
    def environment(self) -> dict:
        # Settings of the caller's own service must not leak into the one measured.
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("SUISHOUPAI_")
        }
        return {
            **inherited,
            "SUISHOUPAI_INSTANCE_DIR": str(self.folder),
            "SUISHOUPAI_DATABASE_URL": self.database_url,
            "PYTHONWARNINGS": "ignore",
        }

    def prepare(self) -> None:
        """Add the users as an operator would; the first call also migrates."""
        for name, (role, department) in USERS.items():
            command = ["user", "add", name, "--role", role]
            if department:
                command += ["--department", department]
            self.tokens[name] = self.cli(*command).splitlines()[-1]

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"suishoupai {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    @property
    def app(self) -> Flask:
        """The service's app in this process, for in-process measurements."""
        if self._app is None:
            settings = Settings(
                instance_dir=self.folder,
                database_url=self.database_url,
                scheduler=False,
            )
            # As the servers run with PYTHONWARNINGS=ignore, so does this app.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._app = create_app(settings)
            _log_to(self.folder / "bench-app.log")
        return self._app

    @property
    def db(self):
        return self.app.extensions["suishoupai.db"]

    @property
    def sweeps(self):
        """What the scheduler runs: due engine timers and due stage deadlines."""
        return self.app.extensions["suishoupai.sweeps"]

    def close(self) -> None:
        if self._app is not None:
            self.db.engine.dispose()


def _log_to(path: Path) -> None:
    # The app logs to stderr as a server would; here that would bury the table.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and isinstance(
            handler.formatter, CaseFormatter
        ):
            previous = handler.setStream(open(path, "a"))  # noqa: SIM115
            if previous not in (None, sys.stderr, sys.stdout):
                previous.close()


class Server:
    """`suishoupai serve` with N workers on a free port, as production starts it."""

    def __init__(self, site: Site, workers: int, scheduler: bool = True):
        self.site = site
        self.workers = workers
        self.scheduler = scheduler
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.site.folder / f"server-{self.port}.log"

    def __enter__(self) -> "Server":
        command = [sys.executable, "-m", "service.cli", "serve"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={
                    **self.site.environment,
                    "SUISHOUPAI_SCHEDULER": "1" if self.scheduler else "0",
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()
        return self

    def __exit__(self, *_exc) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the service stopped:\n" + self.log_path.read_text())
            # Every worker must be up, or the first seconds of a load go to one.
            if len(self.worker_pids()) >= self.workers and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError("the service did not answer in time")

    def _answers(self) -> bool:
        try:
            return requests.get(self.base_url + "/healthz", timeout=2).ok
        except requests.ConnectionError:
            return False

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the serving process."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []
