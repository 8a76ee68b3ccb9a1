"""The benchmark run: the engine floor, then every figure per database and workers."""

import argparse
import os
import signal
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench import cases
from bench.figures import (
    FloorProbe,
    Plan,
    Results,
    open_cases,
    say,
    served_cases,
)
from bench.machine import describe, load_average, postgres_version
from bench.table import number, render

POSTGRES_URL = os.environ.get(
    "SUISHOUPAI_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
QUICK = Plan(
    floor_sample_cases=30,
    lifecycle_cases=20,
    reports=300,
    completions=200,
    open_cases=2_000,
    seconds=60.0,
    repeats=10,
)
COUNTS = ("lifecycle_cases", "reports", "completions", "open_cases")


def main(argv: list[str] | None = None) -> None:
    # Stopped with SIGTERM, the run still stops its servers and drops its databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    args = _arguments(argv)
    plan = QUICK if args.quick else Plan()
    plan = replace(
        plan, **{n: getattr(args, n) for n in COUNTS if getattr(args, n) is not None}
    )
    postgres = POSTGRES_URL if "postgresql" in args.db else None
    if postgres:
        _require_postgres(postgres)
    machine = describe(postgres)
    started = time.monotonic()

    say("engine floor, to be sampled beside each figure")
    results = Results()
    with (
        FloorProbe(plan.floor_sample_cases) as probe,
        tempfile.TemporaryDirectory(prefix="ssp-bench-") as folder,
    ):
        for db in args.db:
            for workers in args.workers:
                where = Path(folder) / f"{db}-{workers}-workers"
                where.mkdir()
                served_cases(results, where, db, POSTGRES_URL, workers, plan, probe)
            where = Path(folder) / f"{db}-open-cases"
            where.mkdir()
            open_cases(results, where, db, POSTGRES_URL, plan, probe)
        results.rows.insert(0, probe.overall().row())

    machine += [
        ("load average at end", load_average()),
        ("run took", f"{(time.monotonic() - started) / 60:.1f} min"),
    ]
    _print(results, machine, "quick" if args.quick else "full")


def _print(results: Results, machine, kind: str) -> None:
    print("## Machine\n")
    for name, value in machine:
        print(f"- {name}: {value}")
    print(f"\n## Results ({kind} run)\n")
    print(render(results.rows))

    print("\n## Lifecycle steps through HTTP, median ms\n")
    names = cases.LIFECYCLE_STEPS
    print("| db | workers | " + " | ".join(names) + " | engine floor per step |")
    print("|---|---|" + "---|" * len(names) + "---|")
    for db, workers, lifecycle, floor in results.lifecycles:
        steps = " | ".join(number(lifecycle.ms_per_step[name]) for name in names)
        print(f"| {db} | {workers} | {steps} | {number(floor.ms_per_step)} |")

    print("\n## Query plans (the slowest query of each)\n")
    for title, lines in results.plans:
        print(f"{title}:")
        print("\n".join(f"    {line}" for line in lines))

    if results.notes:
        print("\n## Notes\n")
        print("\n".join(f"- {note}" for note in results.notes))


def _require_postgres(url: str) -> None:
    try:
        postgres_version(url)
    except Exception as error:
        raise SystemExit(
            f"PostgreSQL at {url} does not answer ({error}); set "
            "SUISHOUPAI_BENCH_POSTGRES_URL, or run with --db sqlite"
        ) from error


def _arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the service beside the bare engine and print a table.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument(
        "--db",
        type=_names("sqlite", "postgresql"),
        default=["sqlite", "postgresql"],
        help="comma-separated databases (default: sqlite,postgresql)",
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="comma-separated worker counts (default: 1,2)",
    )
    for name, what in (
        ("lifecycle-cases", "cases run from report to closed"),
        ("reports", "reports of the intake load"),
        ("completions", "tasks completed by the completion load"),
        ("open-cases", "open cases for the sweep and the queue"),
    ):
        parser.add_argument(f"--{name}", type=int, help=what)
    return parser.parse_args(argv)


def _names(*allowed):
    def parse(text):
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        if not chosen or set(chosen) - set(allowed):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return chosen

    return parse
