"""The engine floor: the case diagram run in memory by SpiffWorkflow alone."""

import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

DIAGRAM = Path(__file__).resolve().parent.parent / "bpmn" / "case_loop.bpmn"
PROCESS_ID = "case_loop"
# What the service hands the engine at the start and at each human step of a case
# that closes normally; the confirmation timer is due some days after handling.
START: dict = {}
STEPS = [
    (
        "triage",
        lambda: {
            "decision": "dispatch",
            "category": "water-environment",
            "department": "water",
        },
    ),
    (
        "handle",
        lambda: {
            "decision": "done",
            "confirm_due": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        },
    ),
    ("confirm", lambda: {"decision": "satisfied"}),
]
STEPS_PER_CASE = 1 + len(STEPS)


@dataclass(frozen=True)
class EngineFloor:
    cases: int
    ms_per_case: float
    parse_ms: float
    saved_bytes: int

    @property
    def ms_per_step(self) -> float:
        return self.ms_per_case / STEPS_PER_CASE


class Engine:
    """The case diagram parsed once, for measuring the floor again and again."""

    def __init__(self):
        started = time.perf_counter()
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(DIAGRAM))
        self.spec = parser.get_spec(PROCESS_ID)
        self.subprocess_specs = parser.get_subprocess_specs(PROCESS_ID)
        self.parse_ms = (time.perf_counter() - started) * 1000
        self.serializer = BpmnWorkflowSerializer(
            BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        )
        self.warm = False

    def measure(self, cases: int) -> EngineFloor:
        """Median ms per case: create, three steps, saved and restored at each."""
        if not self.warm:
            for _ in range(max(1, cases // 10)):
                self.run_case()
            self.warm = True
        timings, size = [], 0
        for _ in range(cases):
            started = time.perf_counter()
            size = self.run_case()
            timings.append((time.perf_counter() - started) * 1000)
        return EngineFloor(cases, statistics.median(timings), self.parse_ms, size)

    def run_case(self) -> int:
        return run_case(self.spec, self.subprocess_specs, self.serializer)


def run_case(spec, subprocess_specs, serializer) -> int:
    """One case from report to closed; returns the size of its last save."""
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.task_tree.data.update(START)
    workflow.do_engine_steps()
    saved = serializer.serialize_json(workflow)
    for name, data in STEPS:
        workflow = serializer.deserialize_json(saved)
        task = ready_task(workflow, name)
        task.data.update(data())
        task.run()
        workflow.do_engine_steps()
        saved = serializer.serialize_json(workflow)
    if not workflow.is_completed():
        raise RuntimeError("the engine floor case did not reach its end")
    return len(saved)


def ready_task(workflow: BpmnWorkflow, element_id: str):
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        if task.task_spec.bpmn_id == element_id:
            return task
    raise RuntimeError(f"no ready {element_id} task in the engine floor case")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    # Run alone, so that the floor's memory is the engine's and nothing else's.
    # Each line read names a number of cases; each answer is one line of JSON.
    import json
    import sys

    engine = Engine()
    for line in sys.stdin:
        floor = engine.measure(int(line))
        answer = {**vars(floor), "peak_rss_mb": peak_rss_mb()}
        print(json.dumps(answer), flush=True)
