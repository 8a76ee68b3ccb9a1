"""The closed loop: reports become cases, tasks advance them, timers escalate them.

Every change to a case happens under its row lock, writes its timeline in the same
transaction, and leaves the task and timer indexes matching the engine instance.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Case,
    Category,
    Department,
    Escalation,
    HumanTaskRow,
    PendingTimerRow,
    Photo,
    ProcessVersion,
    TimelineEvent,
    User,
)
from models.cases import FINAL_STATUSES
from service.database import Database
from service.definitions import DefinitionRegistry
from service.permissions import can_see_case, can_work_task
from service.photos import PhotoLimits, PhotoStore, ProcessedPhoto, process_photo
from workflows.clock import clock
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.runtime import CaseInstance

log = logging.getLogger(__name__)

DEFAULT_CATEGORY = "other"
PARTNERS = {
    "hotline-12345": "12345 hotline 12345热线",
    "bike-platform": "shared-bike platform",
}
# The end events of the case diagram that finish a case, and the status each gives.
OUTCOMES = {
    "closed": "closed",
    "closed_unanswered": "closed",
    "rejected": "rejected",
    "merged": "merged",
    "transferred": "transferred",
}
# The human task that stands for each open stage, most advanced first.
STAGE_OF_TASK = {"confirm": "confirming", "handle": "handling", "triage": "triage"}
ESCALATION_LEVELS = {"reminder": 1, "supervision": 3}
SYSTEM = "system"


@dataclass
class UploadedPhoto:
    filename: str
    content: bytes


@dataclass
class Report:
    description: str
    photos: list[UploadedPhoto]
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    category: str | None = None


@dataclass
class Completion:
    """What a user sends to finish a task: the decision, its fields and photos."""

    decision: str
    fields: dict = field(default_factory=dict)
    photos: list[UploadedPhoto] = field(default_factory=list)


def iso_duration(hours: float) -> str:
    return f"PT{max(1, round(hours * 3600))}S"


class Casework:
    """Case operations for one service: reports, task actions and timer sweeps."""

    def __init__(
        self,
        registry: DefinitionRegistry,
        photos: PhotoStore,
        limits: PhotoLimits,
        max_photos: int,
        process_id: str,
    ):
        self.registry = registry
        self.photos = photos
        self.limits = limits
        self.max_photos = max_photos
        self.process_id = process_id

    # Reports

    def submit_report(
        self,
        session: Session,
        reporter: User,
        report: Report,
        idempotency_key: str | None = None,
    ) -> Case:
        """Turn a deputy's report into a case waiting for triage."""
        if reporter.role not in ("reporter", "admin"):
            raise Forbidden("only reporters submit reports")
        if idempotency_key:
            earlier = self._case_for_key(session, reporter, idempotency_key)
            if earlier is not None:
                return earlier

        category = None
        if report.category:
            category = session.get(Category, report.category)
            if category is None:
                raise Invalid(
                    f"unknown category {report.category!r}",
                    errors={"category": [f"unknown category {report.category!r}"]},
                )
        processed = self._process_photos(report.photos, required=1)
        lat, lng = report.lat, report.lng
        if lat is None and lng is None:
            lat, lng = next((p.gps for _, p in processed if p.gps), (None, None))

        now = clock.now()
        version = self.registry.newest(session, self.process_id)
        limits = self._category(session, category and category.code)
        instance = CaseInstance.start(
            self.registry.definition(version),
            {
                "triage_limit": iso_duration(limits.triage_hours),
                "triage_supervise_after": iso_duration(2 * limits.triage_hours),
            },
        )
        case = Case(
            status="triage",
            category_code=category.code if category else None,
            category_hint=report.category,
            description=report.description,
            lat=lat,
            lng=lng,
            address=report.address,
            reporter_id=reporter.id,
            idempotency_key=idempotency_key,
            created_at=now,
            process_version_id=version.id,
            instance="",
        )
        session.add(case)
        try:
            session.flush()
        except IntegrityError:
            # Another request with the same key won the race; answer with its case.
            session.rollback()
            earlier = self._case_for_key(session, reporter, idempotency_key)
            if earlier is None:
                raise
            return earlier
        case.number = f"SSP-{now:%Y%m%d}-{case.id:05d}"

        photo_ids = self._store_photos(session, case, reporter, processed, "report")
        self._record(
            session, case, reporter.name, "reported", report.description, photo_ids
        )
        self._sync(session, case, instance, reporter.name)
        log.info(
            "case reported", extra={"case": case.number, "reporter": reporter.name}
        )
        return case

    def _case_for_key(self, session, reporter, key):
        return session.scalar(
            select(Case).where(
                Case.reporter_id == reporter.id, Case.idempotency_key == key
            )
        )

    # Task actions

    def claim(self, session: Session, user: User, task_id: int) -> HumanTaskRow:
        task = self._locked_open_task(session, user, task_id)
        if task.assignee_id not in (None, user.id):
            raise Conflict(
                f"task {task_id} is held by {task.assignee.name}", task_id=task_id
            )
        if task.assignee_id is None:
            task.assignee = user
            self._record(
                session,
                task.case,
                user.name,
                "claimed",
                task.title,
                details={"task": task.name},
            )
        return task

    def release(self, session: Session, user: User, task_id: int) -> HumanTaskRow:
        task = self._locked_open_task(session, user, task_id)
        if task.assignee_id is None:
            return task
        if task.assignee_id != user.id and user.role not in ("admin", "supervisor"):
            raise Conflict(
                f"task {task_id} is held by {task.assignee.name}", task_id=task_id
            )
        task.assignee = None
        self._record(
            session,
            task.case,
            user.name,
            "released",
            task.title,
            details={"task": task.name},
        )
        return task

    def complete(
        self, session: Session, user: User, task_id: int, completion: Completion
    ) -> Case:
        """Apply a user's decision on a task and advance the case's diagram."""
        task = self._locked_open_task(session, user, task_id)
        if task.assignee_id not in (None, user.id):
            raise Conflict(
                f"task {task_id} is held by {task.assignee.name}", task_id=task_id
            )
        case = task.case
        action = DECISIONS.get((task.name, completion.decision))
        if action is None:
            choices = ", ".join(d for n, d in DECISIONS if n == task.name)
            raise Invalid(
                f"{completion.decision!r} is not a decision of a {task.name} task",
                errors={"decision": [f"one of {choices}"]},
            )
        missing = {
            name: ["required for this decision"]
            for name in REQUIRED_FIELDS.get(completion.decision, ())
            if not str(completion.fields.get(name) or "").strip()
        }
        if missing:
            raise Invalid(
                f"the {completion.decision} decision is missing fields", errors=missing
            )

        engine_data, note = action(self, session, case, completion)
        processed = self._process_photos(
            completion.photos,
            required=1
            if task.name == "handle" and completion.decision == "done"
            else 0,
        )
        instance = self._instance(session, case)
        instance.complete(
            task.engine_id, {"decision": completion.decision, **engine_data}
        )

        task.assignee = user
        photo_ids = self._store_photos(session, case, user, processed, "feedback")
        self._record(
            session,
            case,
            user.name,
            TIMELINE_ACTIONS[task.name, completion.decision],
            note,
            photo_ids,
            details={"task": task.name, **_public(engine_data)},
        )
        self._sync(
            session,
            case,
            instance,
            user.name,
            finished_task=task,
            outcome=completion.decision,
        )
        log.info(
            "task completed",
            extra={
                "case": case.number,
                "task": task.name,
                "decision": completion.decision,
            },
        )
        return case

    def _locked_open_task(self, session, user, task_id) -> HumanTaskRow:
        task = session.get(HumanTaskRow, task_id)
        if (
            task is None
            or not can_see_case(user, task.case)
            and not can_work_task(user, task)
        ):
            raise NotFound(f"no task {task_id}", task_id=task_id)
        self._lock(session, task.case)
        session.refresh(task)
        if task.closed_at is not None:
            raise Conflict(
                f"task {task_id} is no longer open",
                task_id=task_id,
                case_number=task.case.number,
            )
        if not can_work_task(user, task):
            raise Forbidden(f"task {task_id} is not yours to work on", task_id=task_id)
        return task

    # Decisions, each checking its fields and returning data for the engine

    def _dispatch(self, session, case, completion):
        fields = completion.fields
        category = session.get(Category, fields.get("category") or "")
        department = session.get(Department, fields.get("department") or "")
        errors = {}
        if category is None:
            errors["category"] = [f"unknown category {fields.get('category')!r}"]
        if department is None:
            errors["department"] = [f"unknown department {fields.get('department')!r}"]
        if errors:
            raise Invalid("the dispatch does not fit", errors=errors)
        case.category_code = category.code
        case.department_code = department.code
        return {
            "category": category.code,
            "department": department.code,
            "handling_limit": iso_duration(category.handling_hours),
            "handling_supervise_after": iso_duration(2 * category.handling_hours),
            "confirm_limit": iso_duration(category.confirm_hours),
        }, fields.get("note")

    def _merge(self, session, case, completion):
        number = completion.fields.get("duplicate_of") or ""
        target = session.scalar(select(Case).where(Case.number == number))
        if target is None or target.id == case.id:
            raise Invalid(
                "the merge does not fit",
                errors={"duplicate_of": [f"no other case {number!r}"]},
            )
        if target.created_at > case.created_at:
            raise Invalid(
                "the merge does not fit",
                errors={"duplicate_of": [f"{number} is newer than this case"]},
            )
        case.duplicate_of = target.number
        self._record(
            session,
            target,
            SYSTEM,
            "duplicate_merged",
            f"{case.number} was merged into this case",
        )
        return {"duplicate_of": target.number}, f"merged into {target.number}"

    def _transfer(self, session, case, completion):
        partner = completion.fields.get("partner")
        if partner not in PARTNERS:
            raise Invalid(
                "the transfer does not fit",
                errors={"partner": [f"one of {', '.join(PARTNERS)}"]},
            )
        case.partner = partner
        return {"partner": partner}, f"transferred to {PARTNERS[partner]}"

    def _with_reason(self, session, case, completion):
        return {}, completion.fields.get("reason")

    def _with_result(self, session, case, completion):
        return {}, completion.fields.get("result")

    def _with_note(self, session, case, completion):
        return {}, completion.fields.get("note")

    # Timers

    def fire_due_timers(self, db: Database, now: datetime | None = None) -> int:
        """Advance every case with a timer due by `now`, each in its own transaction.

        Several processes may sweep at once: each case is claimed by one of them,
        and a case another process holds is left to that process.
        """
        now = now or clock.now()
        with db.transaction() as session:
            case_ids = session.scalars(
                select(PendingTimerRow.case_id)
                .where(PendingTimerRow.due_at <= now)
                .distinct()
            ).all()
        fired = 0
        for case_id in case_ids:
            try:
                with db.transaction() as session:
                    case = self._claim_for_sweep(session, case_id, now)
                    if case is None:
                        continue
                    instance = self._instance(session, case)
                    instance.fire_due_timers()
                    self._sync(session, case, instance, SYSTEM)
                    fired += 1
            except Exception:
                # One broken case must not stop the sweep for the others; it is
                # rolled back and tried again at the next sweep.
                log.exception("timer sweep failed", extra={"case_id": case_id})
        return fired

    def _claim_for_sweep(self, session, case_id, now) -> Case | None:
        """Lock a case with a due timer, or None if another process holds or did it."""
        case = session.scalar(
            select(Case)
            .where(Case.id == case_id)
            .with_for_update(skip_locked=True, of=Case)
        )
        if case is None:
            return None
        self._lock(session, case)
        still_due = session.scalar(
            select(PendingTimerRow.id)
            .where(PendingTimerRow.case_id == case_id, PendingTimerRow.due_at <= now)
            .limit(1)
        )
        return case if still_due is not None else None

    # Keeping the case, its indexes and its timeline in step with the engine

    def _lock(self, session: Session, case: Case) -> None:
        # The UPDATE takes the row lock on PostgreSQL and the write lock on SQLite,
        # so no two writers advance one case at once.
        session.execute(
            update(Case).where(Case.id == case.id).values(revision=Case.revision + 1)
        )
        session.refresh(case)

    def _instance(self, session: Session, case: Case) -> CaseInstance:
        version = session.get(ProcessVersion, case.process_version_id)
        return CaseInstance.restore(self.registry.definition(version), case.instance)

    def _sync(
        self,
        session: Session,
        case: Case,
        instance: CaseInstance,
        actor: str,
        finished_task: HumanTaskRow | None = None,
        outcome: str | None = None,
    ):
        now = clock.now()
        previous_status = case.status

        for code in instance.escalations:
            self._raise_escalation(session, case, code, now)

        ready = {task.engine_id: task for task in instance.human_tasks()}
        open_rows = session.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.case_id == case.id, HumanTaskRow.closed_at.is_(None)
            )
        ).all()
        for row in open_rows:
            if row.engine_id not in ready:
                row.closed_at = now
                row.outcome = outcome if row is finished_task else "cancelled"
        known = {row.engine_id for row in open_rows}
        category = self._category(session, case.category_code)
        for engine_id, task in ready.items():
            if engine_id in known:
                continue
            hours = (
                category.limit_hours(task.name) if task.name in STAGE_OF_TASK else None
            )
            session.add(
                HumanTaskRow(
                    case_id=case.id,
                    engine_id=engine_id,
                    element_id=task.element_id,
                    name=task.name,
                    title=task.title,
                    lane=task.lane,
                    department_code=case.department_code
                    if task.name == "handle"
                    else None,
                    created_at=now,
                    due_at=now + timedelta(hours=hours) if hours else None,
                )
            )

        session.query(PendingTimerRow).filter(
            PendingTimerRow.case_id == case.id
        ).delete()
        for timer in instance.pending_timers():
            session.add(
                PendingTimerRow(
                    case_id=case.id,
                    engine_id=timer.engine_id,
                    element_id=timer.element_id,
                    due_at=timer.due_at,
                )
            )

        case.status = self._status(instance, ready.values(), case.status)
        if case.status in FINAL_STATUSES and case.closed_at is None:
            case.closed_at = now
            if "closed_unanswered" in instance.end_events and case.status == "closed":
                self._record(
                    session,
                    case,
                    SYSTEM,
                    "closed_unanswered",
                    f"closed automatically: the reporter did not answer within "
                    f"{category.confirm_hours:g} hours",
                )
        if case.status != previous_status:
            self._close_escalations(session, case, previous_status, now)
        case.escalation_level = max(
            (e.level for e in self._open_escalations(session, case)), default=0
        )
        case.instance = instance.dump()
        session.flush()
        # Photos, timeline and tasks were added as rows; read them afresh for answers.
        session.expire(case, ["photos", "timeline", "open_tasks"])
        if case.status != previous_status:
            log.info(
                "case moved",
                extra={
                    "case": case.number,
                    "from": previous_status,
                    "to": case.status,
                    "actor": actor,
                },
            )

    @staticmethod
    def _status(instance: CaseInstance, ready, current: str) -> str:
        if instance.completed:
            outcome = next(
                (OUTCOMES[e] for e in reversed(instance.end_events) if e in OUTCOMES),
                "closed",
            )
            return outcome
        names = {task.name for task in ready}
        return next(
            (status for name, status in STAGE_OF_TASK.items() if name in names), current
        )

    def _raise_escalation(self, session, case, code, now):
        level = ESCALATION_LEVELS.get(code)
        if level is None:
            log.warning(
                "unknown escalation %r ignored", code, extra={"case": case.number}
            )
            return
        stage = case.status
        category = self._category(session, case.category_code)
        hours = category.limit_hours(_TASK_OF_STAGE.get(stage, "triage"))
        reason = (
            f"{stage} not done within {hours:g} hours (提示)"
            if level == 1
            else f"{stage} not done within {2 * hours:g} hours, twice the limit (督办)"
        )
        session.add(
            Escalation(
                case_id=case.id, level=level, stage=stage, reason=reason, raised_at=now
            )
        )
        self._record(
            session,
            case,
            SYSTEM,
            "escalated",
            reason,
            details={"level": level, "stage": stage},
        )
        session.flush()
        log.info(
            "escalation raised",
            extra={"case": case.number, "level": level, "stage": stage},
        )

    def _close_escalations(self, session, case, stage, now):
        for escalation in self._open_escalations(session, case):
            if escalation.stage != stage:
                continue
            escalation.closed_at = now
            self._record(
                session,
                case,
                SYSTEM,
                "escalation_closed",
                f"level {escalation.level} closed: the case moved on from {stage}",
                details={"level": escalation.level, "stage": stage},
            )

    @staticmethod
    def _open_escalations(session, case):
        return session.scalars(
            select(Escalation).where(
                Escalation.case_id == case.id, Escalation.closed_at.is_(None)
            )
        ).all()

    @staticmethod
    def _category(session, code) -> Category:
        category = session.get(Category, code or DEFAULT_CATEGORY)
        if category is None:
            raise NotFound(f"category {code or DEFAULT_CATEGORY!r} is not configured")
        return category

    # Photos and timeline

    def _process_photos(self, uploads: list[UploadedPhoto], required: int):
        if len(uploads) < required:
            raise Invalid(
                f"at least {required} photo is required",
                errors={"photos": [f"at least {required} photo is required"]},
            )
        if len(uploads) > self.max_photos:
            raise Invalid(
                f"at most {self.max_photos} photos are accepted",
                errors={"photos": [f"at most {self.max_photos} photos are accepted"]},
            )
        return [
            (upload, process_photo(upload.content, upload.filename, self.limits))
            for upload in uploads
        ]

    def _store_photos(self, session, case, user, processed, kind) -> list[int]:
        ids = []
        written: list[str] = []
        try:
            for _upload, photo in processed:
                path, thumb = self.photos.save(case.number, photo)
                written += [path, thumb]
                row = _photo_row(case, user, photo, kind, path, thumb)
                session.add(row)
                session.flush()
                ids.append(row.id)
        except BaseException:
            self.photos.discard(written)
            raise
        # Files of a transaction that later rolls back are removed with it.
        session.info.setdefault("on_rollback", []).append(
            lambda: self.photos.discard(written)
        )
        return ids

    @staticmethod
    def _record(session, case, actor, action, note=None, photo_ids=(), details=None):
        session.add(
            TimelineEvent(
                case_id=case.id,
                at=clock.now(),
                actor=actor,
                action=action,
                note=note,
                photo_ids=list(photo_ids),
                details=details or {},
            )
        )


def _photo_row(case, user, photo: ProcessedPhoto, kind, path, thumb) -> Photo:
    lat, lng = photo.gps or (None, None)
    return Photo(
        case_id=case.id,
        kind=kind,
        path=path,
        thumbnail_path=thumb,
        media_type=photo.media_type,
        width=photo.width,
        height=photo.height,
        size_bytes=len(photo.content),
        taken_lat=lat,
        taken_lng=lng,
        uploaded_by=user.id,
        uploaded_at=clock.now(),
    )


def _public(engine_data: dict) -> dict:
    """The engine data worth showing on the timeline, without internal limits."""
    return {
        k: v for k, v in engine_data.items() if not k.endswith(("_limit", "_after"))
    }


_TASK_OF_STAGE = {status: name for name, status in STAGE_OF_TASK.items()}

DECISIONS = {
    ("triage", "dispatch"): Casework._dispatch,
    ("triage", "reject"): Casework._with_reason,
    ("triage", "merge"): Casework._merge,
    ("triage", "transfer"): Casework._transfer,
    ("handle", "done"): Casework._with_result,
    ("handle", "return"): Casework._with_reason,
    ("confirm", "satisfied"): Casework._with_note,
    ("confirm", "unsatisfied"): Casework._with_reason,
    ("supervise", "follow_up"): Casework._with_note,
}
REQUIRED_FIELDS = {
    "dispatch": ("category", "department"),
    "reject": ("reason",),
    "merge": ("duplicate_of",),
    "transfer": ("partner",),
    "done": ("result",),
    "return": ("reason",),
    "unsatisfied": ("reason",),
    "follow_up": ("note",),
}
TIMELINE_ACTIONS = {
    ("triage", "dispatch"): "dispatched",
    ("triage", "reject"): "rejected",
    ("triage", "merge"): "merged",
    ("triage", "transfer"): "transferred",
    ("handle", "done"): "handled",
    ("handle", "return"): "returned",
    ("confirm", "satisfied"): "confirmed",
    ("confirm", "unsatisfied"): "disputed",
    ("supervise", "follow_up"): "supervised",
}
