"""The benchmark runs end to end and prints its table; timings are never checked."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "engine floor",
    "intake, one photo per report",
    "case lifecycle through HTTP, per step",
    "reading that case through HTTP, no step",
    "task completions",
    "peak memory of a worker",
    "sweep, 2 of 200 open cases due",
    "sweep, none of 200 open cases due",
    "task queue at 200 open tasks, first page",
)


def test_quick_benchmark_on_sqlite_prints_every_figure_beside_its_target():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--db",
            "sqlite",
            "--workers",
            "1",
            "--lifecycle-cases",
            "2",
            "--reports",
            "10",
            "--completions",
            "5",
            "--open-cases",
            "200",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr
    table = result.stdout
    header = next(line for line in table.splitlines() if line.startswith("| figure"))
    assert "engine floor" in header and "target" in header
    for figure in FIGURES:
        assert figure in table, f"{figure!r} is missing from:\n{table}"
    assert "- cpu:" in table and "- sqlite:" in table
    assert "refused" not in table
