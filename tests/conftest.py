"""Fixtures that run the real service: its CLI, its server process and a SQLite file."""

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
import yaml
from sqlalchemy.engine import make_url

from service.database import driver_url

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("SUISHOUPAI_TEST_POSTGRES_URL")
# Every server-backed test runs on SQLite, and on PostgreSQL too when it is given.
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
CORPUS = ROOT.parent / "shared" / "corpus"
PHOTOS = CORPUS / "photos"

# Who the tests act as: name -> (role, department).
USERS = {
    "deputy": ("reporter", None),
    "other-deputy": ("reporter", None),
    "office": ("triage", None),
    "office-2": ("triage", None),
    "water-liaison": ("handler", "water"),
    "housing-liaison": ("handler", "housing"),
    "traffic-liaison": ("handler", "traffic-police"),
    "supervisor": ("supervisor", None),
    "designer": ("designer", None),
    "admin": ("admin", None),
    # A partner account: the second field is its platform.
    "bike-operator": ("partner", "bike-platform"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def photo(name: str) -> tuple[str, bytes, str]:
    """A corpus photo as a multipart file tuple."""
    content = (PHOTOS / name).read_bytes()
    kind = "image/png" if name.endswith(".png") else "image/jpeg"
    return (name, content, kind)


class Client:
    """HTTP calls as one user of the running service."""

    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path, **kwargs):
        return self.http.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path, **kwargs):
        return self.http.post(self.base_url + path, timeout=30, **kwargs)

    def put(self, path, **kwargs):
        return self.http.put(self.base_url + path, timeout=30, **kwargs)

    def delete(self, path, **kwargs):
        return self.http.delete(self.base_url + path, timeout=30, **kwargs)

    def patch(self, path, **kwargs):
        return self.http.patch(self.base_url + path, timeout=30, **kwargs)

    def report(
        self, description="Bikes parked in a heap", photos=("hopper.jpg",), **form
    ):
        files = [("photos", photo(name)) for name in photos]
        return self.post(
            "/api/v1/reports", data={"description": description, **form}, files=files
        )

    def queue(self, queue="available"):
        """Every task of the queue, following its pages."""
        items, params = [], {"queue": queue, "limit": 500}
        while True:
            response = self.get("/api/v1/tasks", params=params)
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            if response.json()["next"] is None:
                return items
            params["after"] = response.json()["next"]

    def task_of(self, case_number, name, queue="available"):
        """The open task of that case and name in one of my queues."""
        matches = [
            task
            for task in self.queue(queue)
            if task["case_number"] == case_number and task["name"] == name
        ]
        assert matches, f"no {name} task of {case_number} in my {queue} queue"
        return matches[0]

    def complete(self, task_id, photos=(), **data):
        if photos:
            files = [("photos", photo(name)) for name in photos]
            return self.post(
                f"/api/v1/tasks/{task_id}/complete", data=data, files=files
            )
        return self.post(f"/api/v1/tasks/{task_id}/complete", json=data)

    def case(self, number):
        response = self.get(f"/api/v1/cases/{number}")
        assert response.status_code == 200, response.text
        return response.json()


class ScratchDatabase:
    """A PostgreSQL database of one test server's own, dropped afterwards."""

    def __init__(self):
        self.name = f"ssp_test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{self.name}"')
        base = make_url(driver_url(POSTGRES_URL))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def drop(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    @staticmethod
    def _admin(statement):
        url = make_url(driver_url(POSTGRES_URL)).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(statement)


@dataclass
class Service:
    """A running `suishoupai serve` with its own instance folder and users."""

    instance_dir: Path
    database_url: str | None = None
    workers: int = 1
    settings: dict = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    tokens: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environment(self) -> dict:
        environment = {
            **os.environ,
            "SUISHOUPAI_INSTANCE_DIR": str(self.instance_dir),
            "SUISHOUPAI_TEST_CLOCK": "1",
            "PYTHONWARNINGS": "ignore",
        }
        if self.database_url:
            environment["SUISHOUPAI_DATABASE_URL"] = self.database_url
        environment.update(self.settings)
        return environment

    def cli(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def add_user(self, name, role, department=None) -> str:
        args = ["user", "add", name, "--role", role]
        if department:
            option = "--partner" if role == "partner" else "--department"
            args += [option, department]
        result = self.cli(*args)
        assert result.returncode == 0, result.stderr
        token = result.stdout.strip().splitlines()[-1]
        self.tokens[name] = token
        return token

    def import_users(self, users: dict) -> None:
        """Create users in one `suishoupai user import`, as an admin would."""
        entries = [
            {
                "name": name,
                "role": role,
                ("partner" if role == "partner" else "department"): unit,
            }
            for name, (role, unit) in users.items()
        ]
        listing = self.instance_dir / "users.yaml"
        listing.write_text(yaml.safe_dump(entries))
        result = self.cli("user", "import", str(listing))
        assert result.returncode == 0, result.stderr
        for line in result.stdout.strip().splitlines():
            name, token = line.rsplit(" ", 1)
            self.tokens[name] = token

    def start(self) -> None:
        # The child writes to the file; our handle is closed as soon as it started.
        with open(self.log_path, "w") as log:
            self.process = self._spawn(log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log())
            try:
                if requests.get(self.base_url + "/healthz", timeout=5).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or still starting its workers.
                time.sleep(0.1)
        raise RuntimeError("the service did not answer in time:\n" + self.log())

    def _spawn(self, log) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    @property
    def log_path(self) -> Path:
        return self.instance_dir / f"server-{self.port}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.log(), "the server failed:\n" + self.log()

    def as_(self, name: str) -> Client:
        return Client(self.base_url, self.tokens.get(name))

    def advance_clock(self, seconds: float) -> dict:
        response = self.as_("admin").post(
            "/api/v1/testing/clock", json={"advance_seconds": seconds}
        )
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def running_service(folder: Path, backend: str, **options):
    """A server with the test users, on a SQLite file or a scratch PostgreSQL db."""
    scratch = ScratchDatabase() if backend == "postgresql" else None
    service = Service(
        instance_dir=folder, database_url=scratch.url if scratch else None, **options
    )
    try:
        service.import_users(USERS)
        service.start()
        yield service
    finally:
        service.stop()
        if scratch:
            scratch.drop()
    service.assert_no_traceback()


@pytest.fixture(scope="module", params=BACKENDS)
def service(request, tmp_path_factory):
    """One server for a module; each test makes its own cases."""
    with running_service(tmp_path_factory.mktemp("service"), request.param) as running:
        yield running


@pytest.fixture(params=BACKENDS)
def own_service(request, tmp_path):
    """A server of this test's own, for tests that move its clock."""
    with running_service(tmp_path, request.param) as running:
        yield running
