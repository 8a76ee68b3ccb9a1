"""Scheduled sweeps: due engine timers and due stage deadlines, claimed case by case.

Several processes may sweep at once: each case is claimed by one of them with a
skip-locked row lock, and a case another process holds is left to that process.
"""

import logging
from datetime import datetime

from sqlalchemy import select

from models import PendingTimerRow, StageDeadline
from service.case_file import CaseFile
from service.case_store import CaseStore
from service.casework import Casework
from service.database import Database
from service.deadlines import Deadlines
from workflows.clock import clock

log = logging.getLogger(__name__)

# Due cases advanced in one transaction: its commit waits for the disk once for
# all of them, and holds each case's lock at most a few hundred milliseconds.
BATCH = 20


class Sweeps:
    def __init__(self, casework: Casework, db: Database):
        self.casework = casework
        self.db = db

    def fire_due_timers(self, now: datetime | None = None) -> int:
        """Advance every case whose engine timers are due by `now`."""
        now = now or clock.now()
        due = select(PendingTimerRow.case_id).where(PendingTimerRow.due_at <= now)
        return self._each_case(due, now, self._fire_timers)

    def check_deadlines(self, now: datetime | None = None) -> int:
        """Escalate every case whose stage deadline (or twice it) has passed."""
        now = now or clock.now()
        due = select(StageDeadline.case_id).where(StageDeadline.next_check_at <= now)
        return self._each_case(due, now, self._escalate)

    def run(self, now: datetime | None = None) -> int:
        now = now or clock.now()
        return self.fire_due_timers(now) + self.check_deadlines(now)

    def _each_case(self, due_query, now, work) -> int:
        with self.db.transaction() as session:
            # Deduplicated here: a DISTINCT makes SQLite walk the case index instead
            # of the due-time index, which costs 100,000 rows when nothing is due.
            case_ids = list(dict.fromkeys(session.scalars(due_query)))
            if not case_ids:
                return 0
            # One sweep applies the limits and calendar in force when it started.
            rules = Deadlines.load(session, self.casework.settings)
        done = 0
        for start in range(0, len(case_ids), BATCH):
            batch = case_ids[start : start + BATCH]
            try:
                done += self._advance(batch, rules, now, work)
            except Exception:
                # One broken case must not hold back the others: each case of the
                # batch goes again on its own, and only the broken one fails.
                log.warning("sweep batch failed", extra={"cases": len(batch)})
                done += sum(self._advance_alone(i, rules, now, work) for i in batch)
        return done

    def _advance(self, case_ids, rules, now, work) -> int:
        """Advance the cases in one transaction; how many moved, once committed."""
        done = 0
        with self.db.transaction() as session:
            Deadlines.under(session, rules)
            store = CaseStore.of(session)
            for case_id in case_ids:
                # Passed over when another process holds it now.
                file = store.lock_unless_held(case_id)
                if file is not None and work(store, file, now):
                    done += 1
                store.save_all()
        return done

    def _advance_alone(self, case_id, rules, now, work) -> int:
        try:
            return self._advance([case_id], rules, now, work)
        except Exception:
            # Rolled back, and tried again at the next sweep.
            log.exception("sweep failed", extra={"case_id": case_id})
            return 0

    def _fire_timers(self, store: CaseStore, file: CaseFile, now) -> bool:
        instance = self.casework.instance(store.session, file)
        timers = instance.indexed.timers.values()
        if not any(timer.due_at <= now for timer in timers):
            return False  # another process fired them since the due rows were read
        instance.fire_due_timers()
        self.casework.sync(store, file, instance, "scheduler")
        return True

    def _escalate(self, store: CaseStore, file: CaseFile, now) -> bool:
        return self.casework.escalate_if_due(store, file, now)
