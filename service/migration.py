"""Moving open cases to another version of their process, and moving them back."""

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from models import Case, ProcessVersion
from models.cases import FINAL_STATUSES
from models.definitions import CaseMigration
from service.case_store import CaseStore
from service.casework import Casework
from service.database import Database
from workflows.clock import clock
from workflows.errors import Invalid, NotFound, SuishoupaiError
from workflows.migration import plan_migration
from workflows.runtime import CaseInstance

log = logging.getLogger(__name__)


@dataclass
class CaseResult:
    """What a migration or revert did, or would do, to one case."""

    case_number: str
    from_version: int
    to_version: int
    outcome: str  # would_migrate, migrated, reverted, blocked, failed, skipped
    reason: str | None = None
    tasks: list[dict] = field(default_factory=list)
    timers: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "case_number": self.case_number,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "outcome": self.outcome,
            "can_migrate": self.outcome in ("would_migrate", "migrated"),
            "reason": self.reason,
            "tasks": self.tasks,
            "timers": self.timers,
        }


class Migrations:
    """Bulk moves of open cases between versions, each case in its own transaction.

    A case that cannot move is reported and left as it was; the others move.
    """

    def __init__(self, db: Database, casework: Casework):
        self.db = db
        self.casework = casework
        self.registry = casework.registry

    def migrate(
        self,
        process_id: str,
        to_version: int | None,
        case_numbers: list[str] | None,
        actor: str,
        dry_run: bool,
    ) -> dict:
        with self.db.transaction() as session:
            target = (
                self.registry.version(session, process_id, to_version)
                if to_version
                else self.registry.newest(session, process_id)
            )
            target_id, target_number = target.id, target.version
            query = (
                select(Case.id)
                .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
                .where(
                    ProcessVersion.process_id == process_id,
                    Case.process_version_id != target.id,
                    Case.status.not_in(FINAL_STATUSES),
                )
                .order_by(Case.id)
            )
            if case_numbers:
                query = query.where(Case.number.in_(case_numbers))
                self._check_numbers(session, case_numbers)
            case_ids = session.scalars(query).all()

        batch = str(uuid.uuid4())
        results = [
            self._migrate_case(case_id, target_id, actor, dry_run, batch)
            for case_id in case_ids
        ]
        counts = _counts(results)
        if not dry_run:
            log.info(
                "migration of %s to version %s: %s",
                process_id,
                target_number,
                counts,
                extra={"process_id": process_id, "batch": batch, "by": actor},
            )
        return {
            "batch": None if dry_run else batch,
            "dry_run": dry_run,
            "process_id": process_id,
            "to_version": target_number,
            "counts": counts,
            "cases": [result.as_dict() for result in results],
        }

    def revert(self, batch: str, case_numbers: list[str] | None, actor: str) -> dict:
        """Put the cases of a migration back on their old versions, as they were."""
        with self.db.transaction() as session:
            rows = session.execute(
                select(CaseMigration.id, Case.number)
                .join(Case, Case.id == CaseMigration.case_id)
                .where(CaseMigration.batch == batch)
                .order_by(CaseMigration.id)
            ).all()
        if not rows:
            raise NotFound(f"no migration {batch}")
        wanted = set(case_numbers or ())
        results = [
            self._revert_case(migration_id, actor)
            for migration_id, number in rows
            if not wanted or number in wanted
        ]
        return {"batch": batch, "counts": _counts(results), "cases": results}

    def _check_numbers(self, session, numbers):
        known = set(
            session.scalars(select(Case.number).where(Case.number.in_(numbers)))
        )
        unknown = [n for n in numbers if n not in known]
        if unknown:
            raise Invalid(
                "some cases do not exist",
                errors={"cases": [f"no case {n}" for n in unknown]},
            )

    def _migrate_case(self, case_id, target_id, actor, dry_run, batch) -> CaseResult:
        try:
            with self.db.transaction() as session:
                store = CaseStore.of(session)
                file = store.lock(case_id)
                case = file.case
                source = session.get(ProcessVersion, case.process_version_id)
                target = session.get(ProcessVersion, target_id)
                result = CaseResult(
                    case.number, source.version, target.version, "would_migrate"
                )
                if case.status in FINAL_STATUSES or source.id == target.id:
                    result.outcome = "skipped"
                    result.reason = "the case is closed or already on that version"
                    return result

                plan = plan_migration(
                    self.registry.definition(source),
                    case.instance,
                    self.registry.definition(target),
                )
                result.tasks = [change.as_dict() for change in plan.tasks]
                result.timers = [change.as_dict() for change in plan.timers]
                if not plan.can_migrate:
                    result.outcome, result.reason = "blocked", plan.reason
                    session.rollback()
                    return result
                if dry_run:
                    session.rollback()
                    return result

                previous = case.instance
                case.process_version_id = target.id
                file.record(
                    actor,
                    "migrated",
                    f"moved from version {source.version} to version {target.version}",
                    details={
                        "from_version": source.version,
                        "to_version": target.version,
                        "batch": batch,
                    },
                )
                self.casework.sync(store, file, plan.instance, actor)
                store.save_all()
                session.add(
                    CaseMigration(
                        batch=batch,
                        case_id=case.id,
                        from_version_id=source.id,
                        to_version_id=target.id,
                        previous_instance=previous,
                        revision_after=case.revision,
                        migrated_at=clock.now(),
                        migrated_by=actor,
                    )
                )
                result.outcome = "migrated"
                log.info(
                    "case migrated",
                    extra={
                        "case": case.number,
                        "from": source.version,
                        "to": target.version,
                    },
                )
                return result
        except SuishoupaiError as error:
            log.warning("case migration failed: %s", error, extra={"case_id": case_id})
            return self._failed(case_id, target_id, error.message)

    def _failed(self, case_id, target_id, reason) -> CaseResult:
        with self.db.transaction() as session:
            case = session.get(Case, case_id)
            source = session.get(ProcessVersion, case.process_version_id)
            target = session.get(ProcessVersion, target_id)
            return CaseResult(
                case.number, source.version, target.version, "failed", reason
            )

    def _revert_case(self, migration_id, actor) -> dict:
        with self.db.transaction() as session:
            migration = session.get(CaseMigration, migration_id)
            case = session.get(Case, migration.case_id)
            source = session.get(ProcessVersion, migration.from_version_id)
            target = session.get(ProcessVersion, migration.to_version_id)
            result = {
                "case_number": case.number,
                "from_version": target.version,
                "to_version": source.version,
            }
            if migration.reverted_at is not None:
                return {**result, "outcome": "skipped", "reason": "already reverted"}
            store = CaseStore.of(session)
            file = store.lock(case.id)
            # Locking bumped the revision once; any other bump means the case moved.
            if file.case.revision != migration.revision_after + 1:
                session.rollback()
                return {
                    **result,
                    "outcome": "blocked",
                    "reason": "the case has moved on since the migration; "
                    "migrate it back instead",
                }

            instance = CaseInstance.restore(
                self.registry.definition(source), migration.previous_instance
            )
            # Tasks the migration restarted are the ones it closed: open them again.
            store.reopen(file, instance.waiting().tasks)
            file.case.process_version_id = source.id
            migration.reverted_at = clock.now()
            migration.reverted_by = actor
            file.record(
                actor,
                "migration_reverted",
                f"moved back from version {target.version} to version {source.version}",
                details={"batch": migration.batch},
            )
            self.casework.sync(store, file, instance, actor)
            store.save_all()
            return {**result, "outcome": "reverted", "reason": None}


def _counts(results) -> dict:
    counts: dict[str, int] = {}
    for result in results:
        outcome = (
            result.outcome if isinstance(result, CaseResult) else result["outcome"]
        )
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
