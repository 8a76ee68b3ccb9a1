"""The closed loop: reports become cases, tasks advance them, deadlines escalate them.

Every change to a case happens under its row lock, writes its timeline in the same
transaction, and leaves the task, timer and deadline rows matching the engine instance.
"""

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AnsweredCompletion, User
from models.cases import FINAL_STATUSES
from models.records import (
    AnsweredRecord,
    CaseRecord,
    NotificationRecord,
    TaskRecord,
    TimerRecord,
)
from service import catalogue
from service.case_file import CaseFile
from service.case_store import CaseStore
from service.deadlines import Deadlines
from service.definitions import DefinitionRegistry
from service.forms import form_of
from service.idempotency import completion_digest, refuse_reuse, report_digest
from service.ladder import Ladder
from service.partners import PARTNERS, transfer_notice
from service.permissions import (
    LANE_ROLES,
    can_see_case,
    can_work_task,
    lane_of_groups,
    may_hold,
    may_reassign,
)
from service.photos import PhotoIntake, PhotoLimits, PhotoStore, UploadedPhoto
from service.reference_cache import reference
from service.settings import Settings
from service.timeline import SYSTEM
from workflows.clock import clock
from workflows.errors import Conflict, Forbidden, Invalid, NotFound, checked_together
from workflows.runtime import NOTHING_WAITING, CaseInstance

log = logging.getLogger(__name__)

# The end events of the case diagram that finish a case, and the status each gives.
OUTCOMES = {
    "closed": "closed",
    "closed_unanswered": "closed",
    "rejected": "rejected",
    "merged": "merged",
    "transferred": "transferred",
}
# The human task that stands for each open stage, most advanced first.
STAGE_OF_TASK = {
    "confirm": "confirming",
    "handle": "handling",
    "triage": "triage",
    "arbitrate": "triage",
}
# What the diagram catches to open a supervise task on the current stage.
SUPERVISION_SIGNAL = "supervision_requested"


@dataclass
class Report:
    description: str
    photos: list[UploadedPhoto]
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    street: str | None = None
    category: str | None = None


@dataclass
class Completion:
    """What a user sends to finish a task: the decision, its fields and photos."""

    decision: str
    fields: dict = field(default_factory=dict)
    photos: list[UploadedPhoto] = field(default_factory=list)


class Casework:
    """Case operations for one service: reports, task actions, locks and syncing.

    Every operation changes cases through their files (service.case_file), each
    locked before it is read, and writes them back before it answers.
    """

    def __init__(
        self, settings: Settings, registry: DefinitionRegistry, photos: PhotoStore
    ):
        self.settings = settings
        self.registry = registry
        self.photos = photos
        self.intake = PhotoIntake(
            photos,
            PhotoLimits(
                settings.max_photo_bytes,
                settings.max_photo_pixels,
                settings.thumbnail_pixels,
            ),
            settings.max_photos,
        )

    # Reports

    def submit_report(
        self,
        session: Session,
        reporter: User,
        report: Report,
        idempotency_key: str | None = None,
        key_per_request: bool = True,
    ) -> CaseFile:
        """Turn a deputy's report into a case waiting for triage.

        The idempotency key works as it does for `complete`. The case's rows are
        written with its answer (`CaseStore.answer_rows`), or at commit.
        """
        if reporter.role not in ("reporter", "admin"):
            raise Forbidden("only reporters submit reports")
        keyed = idempotency_key and key_per_request
        sent = report_digest(report) if keyed else None
        if idempotency_key:
            earlier = self._case_for_key(session, reporter, idempotency_key)
            if earlier is not None:
                refuse_reuse(earlier.case.idempotency_digest, sent, "report")
                return earlier

        known = reference(session)
        if report.category and report.category not in known.usual_departments:
            raise Invalid(
                f"unknown category {report.category!r}",
                errors={"category": [f"unknown category {report.category!r}"]},
            )
        photos = self.intake.check(report.photos, required=1)
        lat, lng = report.lat, report.lng
        if lat is None and lng is None:
            lat, lng = next((p.gps for p in photos if p.gps), (None, None))

        now = clock.now()
        version_id = self.registry.newest_id(session, self.settings.process_id)
        instance = CaseInstance.start(
            self.registry.definition_of(session, version_id),
            {"arbitration_after": self.settings.supervision_on_return},
        )
        instance.indexed = NOTHING_WAITING
        case = CaseRecord(
            status="triage",
            category_code=report.category,
            category_hint=report.category,
            description=report.description,
            lat=lat,
            lng=lng,
            address=report.address,
            street=catalogue.street_of(report.street),
            reporter_id=reporter.id,
            idempotency_key=idempotency_key,
            idempotency_digest=sent,
            created_at=now,
            process_version_id=version_id,
            instance="",
        )
        try:
            file = CaseStore.of(session).create(case, reporter.name)
        except IntegrityError:
            # Another request with the same key won the race; answer with its case.
            session.rollback()
            earlier = self._case_for_key(session, reporter, idempotency_key)
            if earlier is None:
                raise
            refuse_reuse(earlier.case.idempotency_digest, sent, "report")
            return earlier
        case.number = f"SSP-{now:%Y%m%d}-{case.id:05d}"

        store = CaseStore.of(session)
        photo_ids = self.intake.store_all(store, file, reporter, photos, "report", now)
        file.record(reporter.name, "reported", report.description, photo_ids)
        self.sync(store, file, instance, reporter.name, previous_status=None)
        log.info(
            "case reported", extra={"case": case.number, "reporter": reporter.name}
        )
        return file

    def _case_for_key(self, session, reporter, key) -> CaseFile | None:
        store = CaseStore.of(session)
        case_id = store.case_id_for_key(reporter.id, key)
        return store.read(case_id) if case_id is not None else None

    # Task actions

    def claim(self, session: Session, user: User, task_id: int) -> TaskRecord:
        store = CaseStore.of(session)
        file, task = self.locked_open_task(store, user, task_id)
        _refuse_if_held(task, user)
        if not may_hold(user, task):
            raise Forbidden("this confirmation is the reporter's own to take")
        if task.assignee_id is None:
            _hold(task, user)
            file.record(user.name, "claimed", task.title, details={"task": task.name})
        store.save_all()
        return task

    def release(self, session: Session, user: User, task_id: int) -> TaskRecord:
        store = CaseStore.of(session)
        file, task = self.locked_open_task(store, user, task_id)
        if task.assignee_id is None:
            return task
        if user.role not in ("admin", "supervisor"):
            _refuse_if_held(task, user)
        _hold(task, None)
        file.record(user.name, "released", task.title, details={"task": task.name})
        store.save_all()
        return task

    def complete(
        self,
        session: Session,
        user: User,
        task_id: int,
        completion: Completion,
        idempotency_key: str | None = None,
        key_per_request: bool = True,
    ) -> CaseFile:
        """Apply a user's decision on a task and advance the case's diagram.

        With an idempotency key, a retry of a completion already applied is
        answered with the case as it is now, and applied no second time. A key
        sent again with another completion is refused, unless the key stands
        for a whole form page (`key_per_request` False), whose every decision
        is answered by the first one sent. The changed rows are written with the
        case's answer (`CaseStore.answer_rows`), or at commit.
        """
        store = CaseStore.of(session)
        keyed = idempotency_key and key_per_request
        sent = completion_digest(task_id, completion) if keyed else None
        if idempotency_key:
            answered = self._answered(store, user, idempotency_key, task_id, sent)
            if answered is not None:
                return answered
        try:
            file, task = self.locked_open_task(store, user, task_id)
        except Conflict:
            # A retry that waited for the first attempt's lock finds it answered.
            answered = idempotency_key and self._answered(
                store, user, idempotency_key, task_id, sent
            )
            if answered:
                return answered
            raise
        _refuse_if_held(task, user)
        case = file.case
        # Lateness first, as a sweep would have found it.
        self.escalate_if_due(store, file, clock.now())
        form = self.form(session, task)
        # The form counts the photos; each must also be an image we accept.
        decision, photos = checked_together(
            lambda: form.check(
                completion.decision, completion.fields, len(completion.photos)
            ),
            lambda: self.intake.check(completion.photos, required=0),
        )
        action = DECISIONS.get((task.name, completion.decision))
        if action is None:
            engine_data = {
                f.name: completion.fields.get(f.name) for f in decision.fields
            }
            note = completion.fields.get("note")
        else:
            engine_data, note = action(self, store, file, completion)
        instance = self.instance(session, file)
        instance.complete(
            task.engine_id, {"decision": completion.decision, **engine_data}
        )

        now = clock.now()
        photo_ids = self.intake.store_all(store, file, user, photos, "feedback", now)
        _hold(task, user)
        task.draft = None
        details = {"task": task.name, **_public(engine_data)}
        if task.department_code:
            # Whose work this was, whichever department has the case next.
            details.setdefault("department", task.department_code)
        file.record(
            user.name,
            TIMELINE_ACTIONS.get((task.name, completion.decision), "completed"),
            note,
            photo_ids,
            details=details,
        )
        self.sync(
            store,
            file,
            instance,
            user.name,
            finished_task=task,
            outcome=completion.decision,
        )
        if (task.name, completion.decision) == ("handle", "return"):
            self._after_return(store, file, instance, task.department_code)
        if idempotency_key:
            file.add(
                AnsweredRecord(
                    user_id=user.id,
                    key=idempotency_key,
                    task_id=task.id,
                    case_id=case.id,
                    answered_at=now,
                    digest=sent,
                )
            )
        log.info(
            "task completed",
            extra={
                "case": case.number,
                "task": task.name,
                "decision": completion.decision,
            },
        )
        return file

    def form(self, session: Session, task):
        """The form of an open task, as the loop declares it or the diagram draws it."""
        definition = self.registry.definition_of(session, task.case.process_version_id)
        drawn = definition.task_form(task.element_id)
        return form_of(task.name, drawn)

    def save_draft(
        self, session: Session, user: User, task_id: int, fields: dict
    ) -> TaskRecord:
        """Keep what someone has filled in so far, without completing anything."""
        store = CaseStore.of(session)
        _, task = self.locked_open_task(store, user, task_id)
        _refuse_if_held(task, user)
        task.draft = {k: v for k, v in fields.items() if v is not None}
        store.save_all()
        return task

    def assign(
        self,
        session: Session,
        user: User,
        task_id: int,
        assignee_name: str,
        delegate: bool,
    ) -> TaskRecord:
        """Reassign a task (supervisors; triage in its lane), or delegate one's own."""
        store = CaseStore.of(session)
        file, task = self.locked_open_task(store, user, task_id, must_work=False)
        assignee = session.scalar(select(User).where(User.name == assignee_name))
        if assignee is None:
            raise Invalid(
                f"no user {assignee_name!r}",
                errors={"user": [f"no user {assignee_name!r}"]},
            )
        if delegate and task.assignee_id != user.id:
            raise Forbidden("only the person holding a task delegates it")
        if not delegate and not may_reassign(user, task):
            raise Forbidden("reassigning this task needs a supervisor")
        if assignee.id == task.assignee_id:
            raise Invalid(
                f"{assignee.name} already holds this task",
                errors={"user": [f"{assignee.name} already holds this task"]},
            )
        if not (can_work_task(assignee, task) and may_hold(assignee, task)):
            raise Invalid(
                f"{assignee.name} may not work this task",
                errors={"user": ["not of this task's role or department"]},
            )
        _hold(task, assignee)
        file.record(
            user.name,
            "delegated" if delegate else "assigned",
            f"{task.title} → {assignee.name}",
            details={"task": task.name, "to": assignee.name},
        )
        store.save_all()
        return task

    def _answered(self, store, user, key, task_id, sent) -> CaseFile | None:
        answered = store.session.scalar(
            select(AnsweredCompletion).where(
                AnsweredCompletion.user_id == user.id, AnsweredCompletion.key == key
            )
        )
        if answered is None:
            return None
        if answered.task_id != task_id:
            raise Conflict(
                "this Idempotency-Key was used for another task", task_id=task_id
            )
        refuse_reuse(answered.digest, sent, "completion")
        return store.read(answered.case_id)

    def locked_open_task(
        self, store: CaseStore, user: User, task_id: int, must_work=True
    ) -> tuple[CaseFile, TaskRecord]:
        """The task and its case's file, locked, if it is open and this user may
        work it."""
        file = store.lock_of_task(task_id)
        if file is None:
            raise NotFound(f"no task {task_id}", task_id=task_id)
        task = file.task(task_id) or store.closed_task(file, task_id)
        if not (can_see_case(user, file.case) or can_work_task(user, task)):
            raise NotFound(f"no task {task_id}", task_id=task_id)
        if task.closed_at is not None:
            raise Conflict(
                f"task {task_id} is no longer open",
                task_id=task_id,
                case_number=file.number,
            )
        if must_work and not can_work_task(user, task):
            raise Forbidden(f"task {task_id} is not yours to work on", task_id=task_id)
        return file, task

    # Decisions, each checking its fields and returning data for the engine

    def _dispatch(self, store, file, completion):
        fields, known = completion.fields, reference(store.session)
        case = file.case
        category = fields.get("category")
        if category not in known.usual_departments:
            raise Invalid(
                "the dispatch does not fit",
                errors={"category": [f"unknown category {category!r}"]},
            )
        suggestion = catalogue.suggest(store.session, category, case.street)
        department = fields.get("department") or suggestion.department
        if department not in known.departments:
            why = (
                f"unknown department {department!r}"
                if department
                else "the catalogue has no department for this category"
            )
            raise Invalid("the dispatch does not fit", errors={"department": [why]})
        case.category_code = category
        case.department_code = department
        case.catalogue_version = suggestion.catalogue_version
        return {
            "category": category,
            "department": department,
            "catalogue_version": suggestion.catalogue_version,
            "as_suggested": department == suggestion.department,
        }, fields.get("note")

    def _merge(self, store, file, completion):
        number = completion.fields.get("duplicate_of") or ""
        target_id = store.case_id(number)
        if target_id is None or target_id == file.case.id:
            raise Invalid(
                "the merge does not fit",
                errors={"duplicate_of": [f"no other case {number!r}"]},
            )
        # Its timeline is written too: it changes under its own lock.
        target = store.lock(target_id)
        why = _why_not_merged_into(file.case, target.case)
        if why:
            raise Invalid("the merge does not fit", errors={"duplicate_of": [why]})
        file.case.duplicate_of = target.number
        target.record(
            SYSTEM, "duplicate_merged", f"{file.number} was merged into this case"
        )
        return {"duplicate_of": target.number}, f"merged into {target.number}"

    def _transfer(self, store, file, completion):
        partner = completion.fields.get("partner")
        if partner not in PARTNERS:
            raise Invalid(
                "the transfer does not fit",
                errors={"partner": [f"one of {', '.join(PARTNERS)}"]},
            )
        file.case.partner = partner
        file.add(NotificationRecord(**transfer_notice(file.case, partner)))
        return {"partner": partner}, f"transferred to {PARTNERS[partner]}"

    def _with_reason(self, store, file, completion):
        return {}, completion.fields.get("reason")

    def _returned(self, store, file, completion):
        count = file.case.return_count + 1
        return {"return_count": count}, completion.fields.get("reason")

    def _with_result(self, store, file, completion):
        # The reporter's confirmation is due by the category's limit from now.
        deadlines = Deadlines.load(store.session, self.settings)
        limit = deadlines.policy.limit(file.case.category_code, "confirming")
        due = deadlines.calendar.add(clock.now(), limit.amount, limit.unit)
        return {"confirm_due": due.isoformat()}, completion.fields.get("result")

    def _with_note(self, store, file, completion):
        return {}, completion.fields.get("note")

    def _after_return(self, store, file, instance, department) -> None:
        """退单: counted per case; at the threshold supervisors arbitrate (交办)."""
        case = file.case
        case.return_count += 1
        if case.return_count < self.settings.supervision_on_return:
            return
        reason = f"returned {case.return_count} times by departments"
        if any(t.name == "arbitrate" for t in instance.human_tasks()):
            deadlines = Deadlines.load(store.session, self.settings)
            Ladder(store, deadlines.policy.grouping).supervise(
                file, case.status, f"{reason}: arbitration", clock.now()
            )
        else:
            self.supervise(store, file, instance, reason)

    # Supervision

    def escalate_if_due(self, store: CaseStore, file: CaseFile, now) -> bool:
        """Climb the ladder as far as the stage's lateness says; False if not due.

        The sweep calls this for late stages; a change to a case calls it first,
        so that a step arriving before the sweep does not skip the reminder or
        supervision its lateness had already earned.
        """
        deadline = file.deadline
        if deadline is None or deadline.next_check_at is None:
            return False
        if deadline.next_check_at > now:
            return False
        deadlines = Deadlines.load(store.session, self.settings)
        if deadline.reminded_at is None and now >= deadline.due_at:
            Ladder(store, deadlines.policy.grouping).remind(file, deadline, now)
        if deadline.supervised_at is None and now >= deadline.supervise_at:
            self.supervise(
                store,
                file,
                self.instance(store.session, file),
                f"{deadline.stage} not done within twice {deadline.limit}",
            )
        deadlines.reschedule(deadline)
        return True

    def supervise(self, store, file, instance, reason, actor=SYSTEM) -> None:
        """Raise level 3 on the current stage and open a supervise task for it."""
        case, now = file.case, clock.now()
        deadlines = Deadlines.load(store.session, self.settings)
        Ladder(store, deadlines.policy.grouping).supervise(
            file, case.status, reason, now
        )
        deadline = file.deadline
        if deadline is not None and deadline.supervised_at is None:
            deadline.supervised_at = now
            deadline.next_check_at = None
        supervised = any(t.name == "supervise" for t in instance.human_tasks())
        if not supervised and not instance.signal(SUPERVISION_SIGNAL):
            log.warning(
                "the diagram has no supervise task for this stage",
                extra={"case": case.number, "stage": case.status},
            )
        self.sync(store, file, instance, actor)

    # Instances and keeping the indexes in step with the engine

    def instance(self, session: Session, file: CaseFile) -> CaseInstance:
        """The case's instance as stored, which its task and timer rows index."""
        case = file.case
        definition = self.registry.definition_of(session, case.process_version_id)
        instance = CaseInstance.restore(definition, case.instance)
        instance.indexed = instance.waiting()
        return instance

    def sync(
        self,
        store: CaseStore,
        file: CaseFile,
        instance: CaseInstance,
        actor: str,
        finished_task: TaskRecord | None = None,
        outcome: str | None = None,
        previous_status: str | None = "unchanged",
    ) -> None:
        """Save the instance and bring tasks, timers, status and deadlines in step."""
        now, case = clock.now(), file.case
        if previous_status == "unchanged":
            previous_status = case.status

        deadlines = Deadlines.load(store.session, self.settings)
        waiting = instance.waiting()
        ready = waiting.tasks
        self._sync_tasks(
            deadlines, store, file, instance, ready, now, finished_task, outcome
        )
        _sync_timers(store, file, instance, waiting.timers)
        instance.indexed = waiting

        case.status = _status(instance, ready.values(), case.status)
        if case.status != previous_status:
            # Only a finished instance has reached an end event worth reading.
            unanswered = (
                instance.completed and "closed_unanswered" in instance.end_events
            )
            self._move_stage(deadlines, store, file, previous_status, now, unanswered)
        self._pause_for_arbitration(deadlines, file, ready.values(), now)
        case.instance = instance.dump()
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

    def _sync_tasks(
        self, deadlines, store, file, instance, ready, now, finished_task, outcome
    ):
        finished = {finished_task.engine_id} if finished_task else set()
        open_rows = file.open_tasks
        if instance.indexed is None or (
            set(instance.indexed.tasks) - ready.keys() - finished
        ):
            # Others than the finished task end too: cancel them as they stand.
            for row in open_rows:
                if row.engine_id not in ready and row is not finished_task:
                    row.closed_at = now
                    row.outcome = "cancelled"
        if finished_task is not None and finished_task.engine_id not in ready:
            finished_task.closed_at = now
            finished_task.outcome = outcome
        indexed = {row.engine_id for row in open_rows}
        for engine_id, task in ready.items():
            if engine_id not in indexed:
                file.add(self._task_row(deadlines, store, instance, file, task, now))

    def _task_row(self, deadlines, store, instance, file, task, now) -> TaskRecord:
        """A new open task: who may work it and by when, from lanes or as drawn."""
        case = file.case
        drawn = instance.definition.task_assignment(task.element_id)
        lane = task.lane
        department = case.department_code if task.name == "handle" else None
        if lane not in LANE_ROLES and drawn.candidate_groups:
            codes = reference(store.session).departments
            lane, department = lane_of_groups(drawn.candidate_groups, codes)
        users = list(drawn.candidate_users)
        assignee = drawn.assignee or (users[0] if len(users) == 1 else None)
        if task.name in STAGE_OF_TASK:
            limit = deadlines.policy.limit(case.category_code, STAGE_OF_TASK[task.name])
            due = deadlines.calendar.add(now, limit.amount, limit.unit)
        else:
            due = drawn.due_at(now)
        row = TaskRecord(
            case_id=case.id,
            engine_id=task.engine_id,
            element_id=task.element_id,
            name=task.name,
            title=task.title,
            lane=lane,
            department_code=department,
            assignee_id=store.user_id(assignee) if assignee else None,
            candidate_users=f",{','.join(users)}," if users else None,
            created_at=now,
            due_at=due,
        )
        row.assignee_name = assignee if row.assignee_id is not None else None
        return row

    def _pause_for_arbitration(self, deadlines, file, ready, now) -> None:
        """A case waiting for arbitration does not use its stage's time."""
        deadline = file.deadline
        if deadline is None or deadline.stage != "triage":
            return
        if any(task.name == "arbitrate" for task in ready):
            deadlines.pause(deadline, now)
        elif deadline.paused_since is not None:
            deadlines.resume(deadline, now)

    def _move_stage(
        self, deadlines, store, file, previous_status, now, unanswered
    ) -> None:
        """Close the old stage's deadline and escalations, open the new stage's."""
        case = file.case
        ladder = Ladder(store, deadlines.policy.grouping)
        if previous_status is not None:
            closed = deadlines.close_stage(file, now)
            ladder.close_stage(
                file, previous_status, now, f"the case moved on from {previous_status}"
            )
            if unanswered and case.status == "closed":
                limit = closed.limit if closed else "its limit"
                file.record(
                    SYSTEM,
                    "closed_unanswered",
                    f"closed automatically: the reporter did not answer within {limit}",
                )
        if case.status in FINAL_STATUSES:
            case.closed_at = case.closed_at or now
        else:
            deadlines.open_stage(file, case.status, now)
        case.escalation_level = ladder.level_of(file)


def _sync_timers(store, file, instance, waiting) -> None:
    """Bring the timer rows in step with what the instance waits on."""
    if instance.indexed is None:
        # What the rows hold is not known: read them.
        waiting = dict(waiting)
        for row in store.timers(file):
            timer = waiting.pop(row.engine_id, None)
            if timer is None:
                file.dropped_timers.add(row.engine_id)
            else:
                row.due_at = timer.due_at
        for timer in waiting.values():
            file.add(_timer_row(file.case, timer))
        return
    indexed = instance.indexed.timers
    kept = {i for i, timer in waiting.items() if indexed.get(i) == timer}
    file.dropped_timers |= indexed.keys() - kept
    for engine_id in waiting.keys() - kept:
        file.add(_timer_row(file.case, waiting[engine_id]))


def _timer_row(case, timer) -> TimerRecord:
    return TimerRecord(
        case_id=case.id,
        engine_id=timer.engine_id,
        element_id=timer.element_id,
        due_at=timer.due_at,
    )


def _hold(task: TaskRecord, user: User | None) -> None:
    task.assignee_id = user.id if user else None
    task.assignee_name = user.name if user else None


def _status(instance: CaseInstance, ready, current: str) -> str:
    if instance.completed:
        return next(
            (OUTCOMES[e] for e in reversed(instance.end_events) if e in OUTCOMES),
            "closed",
        )
    names = {task.name for task in ready}
    return next((s for name, s in STAGE_OF_TASK.items() if name in names), current)


def _why_not_merged_into(case, target) -> str | None:
    if target.created_at > case.created_at:
        return f"{target.number} is newer than this case"
    if target.status == "merged":
        return f"{target.number} was merged into {target.duplicate_of}: merge into that"
    if target.status == "rejected":
        return f"{target.number} was rejected"
    return None


def _refuse_if_held(task: TaskRecord, user: User) -> None:
    if task.assignee_id not in (None, user.id):
        raise Conflict(
            f"task {task.id} is held by {task.assignee_name}",
            task_id=task.id,
            case_number=task.case.number,
        )


def _public(engine_data: dict) -> dict:
    """The engine data worth showing on the timeline, without internal due times."""
    return {k: v for k, v in engine_data.items() if not k.endswith("_due")}


DECISIONS = {
    ("triage", "dispatch"): Casework._dispatch,
    ("triage", "reject"): Casework._with_reason,
    ("triage", "merge"): Casework._merge,
    ("triage", "transfer"): Casework._transfer,
    ("handle", "done"): Casework._with_result,
    ("handle", "return"): Casework._returned,
    ("confirm", "satisfied"): Casework._with_note,
    ("confirm", "unsatisfied"): Casework._with_reason,
    ("supervise", "follow_up"): Casework._with_note,
    ("arbitrate", "dispatch"): Casework._dispatch,
    ("arbitrate", "to_triage"): Casework._with_reason,
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
    ("arbitrate", "dispatch"): "arbitrated",
    ("arbitrate", "to_triage"): "arbitrated",
}
