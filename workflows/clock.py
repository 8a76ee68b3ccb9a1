"""The one clock the service reads, movable in tests, and shared with the engine."""

import threading
from datetime import UTC, datetime, timedelta

import SpiffWorkflow.bpmn.specs.event_definitions.timer as engine_timer


class Clock:
    """Wall-clock time in UTC plus an offset that only tests move."""

    def __init__(self):
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


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
