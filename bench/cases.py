"""Cases through HTTP: intake, the full lifecycle, and task completions."""

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.load import Client, Load, expect, run_load

PHOTO = Path(__file__).resolve().parents[2] / "shared/corpus/photos/hopper.jpg"
DISPATCH = {
    "decision": "dispatch",
    "category": "water-environment",
    "department": "water",
}
DONE = {"decision": "done", "result": "Drain cleared"}
SATISFIED = {"decision": "satisfied"}
LIFECYCLE_STEPS = ("report", "dispatch", "handle", "confirm")


def report(deputy: Client, photo: bytes, n: int) -> dict:
    """One report with one photo; answers with the new case."""
    response = deputy.post(
        "/api/v1/reports",
        data={"description": f"Drain blocked at gate {n}", "address": "Tianhe Rd 1"},
        files=[("photos", ("hopper.jpg", photo, "image/jpeg"))],
    )
    return expect(response, 201)


def complete(user: Client, task_id: int, **body) -> dict:
    """Finish a task (JSON, or multipart with photos); answers with the case."""
    return expect(user.post(f"/api/v1/tasks/{task_id}/complete", **body), 200)


def open_task(case: dict, name: str) -> int:
    return next(task["id"] for task in case["open_tasks"] if task["name"] == name)


def intake(deputies: list[Client], count: int, seconds: float) -> Load:
    """Reports from concurrent deputies; each answer is the new triage task's id."""
    photo = PHOTO.read_bytes()
    return run_load(
        lambda deputy, n: open_task(report(deputy, photo, n), "triage"),
        deputies,
        count,
        seconds,
    )


def completions(offices: list[Client], task_ids: list[int], seconds: float) -> Load:
    """Triage tasks dispatched by concurrent triage officers."""
    return run_load(
        lambda office, n: complete(office, task_ids[n], json=DISPATCH)["status"],
        offices,
        len(task_ids),
        seconds,
    )


@dataclass(frozen=True)
class Lifecycle:
    cases: int
    ms_per_case: float
    ms_per_step: dict[str, float]
    last_number: str

    @property
    def ms_per_step_mean(self) -> float:
        return self.ms_per_case / len(LIFECYCLE_STEPS)


def lifecycle(
    users: dict[str, Client], cases: int, pause=None, every: int = 0
) -> Lifecycle:
    """Cases run one after another from report to closed; medians per case and step.

    With `pause`, it is called after every `every` cases (to sample the floor).
    """
    photo = PHOTO.read_bytes()
    deputy, office, water = users["deputy"], users["office"], users["water-liaison"]
    feedback = [("photos", ("after.jpg", photo, "image/jpeg"))]
    per_case, per_step = [], {step: [] for step in LIFECYCLE_STEPS}

    for n in range(cases):
        if pause and every and n and n % every == 0:
            pause()
        timer = _StepTimer(per_step)
        case = timer.time("report", report, deputy, photo, n)
        triage = open_task(case, "triage")
        case = timer.time("dispatch", complete, office, triage, json=DISPATCH)
        handle = open_task(case, "handle")
        case = timer.time("handle", complete, water, handle, data=DONE, files=feedback)
        confirm = open_task(case, "confirm")
        case = timer.time("confirm", complete, deputy, confirm, json=SATISFIED)
        if case["status"] != "closed":
            raise RuntimeError(f"case {case['number']} ended {case['status']}")
        per_case.append(timer.total)

    return Lifecycle(
        cases,
        statistics.median(per_case),
        {step: statistics.median(ms) for step, ms in per_step.items()},
        case["number"],
    )


def read_case(user: Client, number: str, repeats: int) -> float:
    """Median ms to read one case through HTTP: the answer a step gives, no step."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        expect(user.get(f"/api/v1/cases/{number}"), 200)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


class _StepTimer:
    """Times each step of one case into the lists of every case."""

    def __init__(self, per_step: dict[str, list[float]]):
        self.per_step = per_step
        self.total = 0.0

    def time(self, step: str, call, *args, **kwargs):
        started = time.perf_counter()
        answer = call(*args, **kwargs)
        ms = (time.perf_counter() - started) * 1000
        self.per_step[step].append(ms)
        self.total += ms
        return answer
