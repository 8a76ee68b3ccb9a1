"""The machine a run measured: CPU, cores, memory, Python and database versions."""

import datetime
import os
import platform
import sqlite3
import subprocess
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.site import ROOT
from service.database import driver_url


def describe(postgres_url: str | None) -> list[tuple[str, str]]:
    return [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("service", service_commit()),
        ("cpu", _cpu_model()),
        ("cores", str(os.cpu_count())),
        ("memory", f"{_memory_gb():.1f} GB"),
        ("os", f"{platform.system()} {platform.release()}"),
        ("python", platform.python_version()),
        ("sqlite", sqlite3.sqlite_version),
        ("postgresql", postgres_version(postgres_url) if postgres_url else "not run"),
        ("load average at start", load_average()),
    ]


def load_average() -> str:
    """The 1, 5 and 15 minute load: other work on the machine skews every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def service_commit() -> str:
    """The commit measured, marked dirty when the checkout has local changes."""
    result = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() if result.returncode == 0 else "not a git checkout"


def postgres_version(url: str) -> str:
    """The server's version; raises if it does not answer."""
    dsn = make_url(driver_url(url)).set(drivername="postgresql")
    with psycopg.connect(
        dsn.render_as_string(hide_password=False), connect_timeout=5
    ) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")
