"""The scheduled sweep: due engine timers and due stage deadlines, in one call."""

import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Sweep:
    advanced: int
    due_ms: float
    idle_ms: float


def measure_sweep(sweeps, repeats: int) -> Sweep:
    """Time the sweep that finds the due cases, then the median of idle sweeps."""
    started = time.perf_counter()
    advanced = sweeps.run()
    due_ms = (time.perf_counter() - started) * 1000

    idle = []
    for _ in range(repeats):
        started = time.perf_counter()
        again = sweeps.run()
        idle.append((time.perf_counter() - started) * 1000)
        if again:
            raise RuntimeError(f"an idle sweep advanced {again} cases")
    return Sweep(advanced, due_ms, statistics.median(idle))
