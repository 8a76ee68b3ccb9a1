"""The one clock the service reads, movable in tests, and shared with the engine."""

import fcntl
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import SpiffWorkflow.bpmn.specs.event_definitions.timer as engine_timer


class Clock:
    """Wall-clock time in UTC plus an offset that only tests move.

    In tests the offset can live in a file, so that every process of one service
    (workers, schedulers) reads the same moved time.
    """

    def __init__(self):
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._shared: Path | None = None

    def now(self) -> datetime:
        if self._shared is not None:
            self._reload_shared()
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            if self._shared is None:
                self._offset += timedelta(seconds=seconds)
            else:
                self._advance_shared(seconds)
        return self.now()

    def share_offset_through(self, path: Path) -> None:
        """Keep the offset in `path`, for the test clock of a multi-process service."""
        self._shared = Path(path)
        self._shared.touch(exist_ok=True)
        self._reload_shared()

    def _reload_shared(self) -> None:
        # Read every time: file timestamps are too coarse to tell two quick moves apart.
        text = self._shared.read_text().strip()
        self._offset = timedelta(seconds=float(text or 0))

    def _advance_shared(self, seconds: float) -> None:
        # Replace the file whole, so a reader never sees it half-written.
        with open(self._shared.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = float(self._shared.read_text().strip() or 0)
            staged = self._shared.with_suffix(".next")
            staged.write_text(repr(current + seconds))
            os.replace(staged, self._shared)


clock = Clock()


class _EngineDatetime(datetime):
    """The engine timer module's `datetime`, whose `now()` reads our clock."""

    @classmethod
    def now(cls, tz=None):
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


def attach_engine_to_clock():
    """Make the engine's timers read `clock`; SpiffWorkflow offers no hook for it."""
    engine_timer.datetime = _EngineDatetime
