"""The closed loop: reports become cases, tasks advance them, deadlines escalate them.

Every change to a case happens under its row lock, writes its timeline in the same
transaction, and leaves the task, timer and deadline rows matching the engine instance.
"""

import logging
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    AnsweredCompletion,
    Case,
    HumanTaskRow,
    PendingTimerRow,
    User,
)
from models.cases import FINAL_STATUSES
from service import catalogue
from service.deadlines import Deadlines
from service.definitions import DefinitionRegistry
from service.forms import form_of
from service.idempotency import completion_digest, refuse_reuse, report_digest
from service.ladder import Ladder
from service.partners import PARTNERS, send_transfer
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
from service.timeline import SYSTEM, record
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
    """Case operations for one service: reports, task actions, locks and syncing."""

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
    ) -> Case:
        """Turn a deputy's report into a case waiting for triage.

        The idempotency key works as it does for `complete`.
        """
        if reporter.role not in ("reporter", "admin"):
            raise Forbidden("only reporters submit reports")
        keyed = idempotency_key and key_per_request
        sent = report_digest(report) if keyed else None
        if idempotency_key:
            earlier = self._case_for_key(session, reporter, idempotency_key)
            if earlier is not None:
                refuse_reuse(earlier.idempotency_digest, sent, "report")
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
        case = Case(
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
        session.add(case)
        try:
            session.flush()
        except IntegrityError:
            # Another request with the same key won the race; answer with its case.
            session.rollback()
            earlier = self._case_for_key(session, reporter, idempotency_key)
            if earlier is None:
                raise
            refuse_reuse(earlier.idempotency_digest, sent, "report")
            return earlier
        case.number = f"SSP-{now:%Y%m%d}-{case.id:05d}"

        photo_ids = self.intake.store_all(
            session, case, reporter, photos, "report", now
        )
        record(session, case, reporter.name, "reported", report.description, photo_ids)
        self.sync(session, case, instance, reporter.name, previous_status=None)
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
        task = self.locked_open_task(session, user, task_id)
        _refuse_if_held(task, user)
        if not may_hold(user, task):
            raise Forbidden("this confirmation is the reporter's own to take")
        if task.assignee_id is None:
            task.assignee = user
            record(
                session,
                task.case,
                user.name,
                "claimed",
                task.title,
                details={"task": task.name},
            )
        return task

    def release(self, session: Session, user: User, task_id: int) -> HumanTaskRow:
        task = self.locked_open_task(session, user, task_id)
        if task.assignee_id is None:
            return task
        if user.role not in ("admin", "supervisor"):
            _refuse_if_held(task, user)
        task.assignee = None
        record(
            session,
            task.case,
            user.name,
            "released",
            task.title,
            details={"task": task.name},
        )
        return task

    def complete(
        self,
        session: Session,
        user: User,
        task_id: int,
        completion: Completion,
        idempotency_key: str | None = None,
        key_per_request: bool = True,
    ) -> Case:
        """Apply a user's decision on a task and advance the case's diagram.

        With an idempotency key, a retry of a completion already applied is
        answered with the case as it is now, and applied no second time. A key
        sent again with another completion is refused, unless the key stands
        for a whole form page (`key_per_request` False), whose every decision
        is answered by the first one sent.
        """
        keyed = idempotency_key and key_per_request
        sent = completion_digest(task_id, completion) if keyed else None
        if idempotency_key:
            answered = self._answered(session, user, idempotency_key, task_id, sent)
            if answered is not None:
                return answered
        try:
            task = self.locked_open_task(session, user, task_id)
        except Conflict:
            # A retry that waited for the first attempt's lock finds it answered.
            answered = idempotency_key and self._answered(
                session, user, idempotency_key, task_id, sent
            )
            if answered:
                return answered
            raise
        _refuse_if_held(task, user)
        case = task.case
        # Lateness first, as a sweep would have found it. This reads the deadline
        # before anything changes, so that no read mid-step flushes half a step.
        self.escalate_if_due(session, case, clock.now())
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
            engine_data, note = action(self, session, case, completion)
        instance = self.instance(session, case)
        instance.complete(
            task.engine_id, {"decision": completion.decision, **engine_data}
        )

        now = clock.now()
        # Photos first: storing them flushes, so the task row is written once, later.
        photo_ids = self.intake.store_all(session, case, user, photos, "feedback", now)
        task.assignee = user
        task.draft = None
        details = {"task": task.name, **_public(engine_data)}
        if task.department_code:
            # Whose work this was, whichever department has the case next.
            details.setdefault("department", task.department_code)
        record(
            session,
            case,
            user.name,
            TIMELINE_ACTIONS.get((task.name, completion.decision), "completed"),
            note,
            photo_ids,
            details=details,
        )
        self.sync(
            session,
            case,
            instance,
            user.name,
            finished_task=task,
            outcome=completion.decision,
        )
        if (task.name, completion.decision) == ("handle", "return"):
            self._after_return(session, case, instance, task.department_code)
        if idempotency_key:
            session.add(
                AnsweredCompletion(
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
        return case

    def form(self, session: Session, task: HumanTaskRow):
        """The form of an open task, as the loop declares it or the diagram draws it."""
        definition = self.registry.definition_of(session, task.case.process_version_id)
        drawn = definition.task_form(task.element_id)
        return form_of(task.name, drawn)

    def save_draft(
        self, session: Session, user: User, task_id: int, fields: dict
    ) -> HumanTaskRow:
        """Keep what someone has filled in so far, without completing anything."""
        task = self.locked_open_task(session, user, task_id)
        _refuse_if_held(task, user)
        task.draft = {k: v for k, v in fields.items() if v is not None}
        return task

    def assign(
        self,
        session: Session,
        user: User,
        task_id: int,
        assignee_name: str,
        delegate: bool,
    ) -> HumanTaskRow:
        """Reassign a task (supervisors; triage in its lane), or delegate one's own."""
        task = self.locked_open_task(session, user, task_id, must_work=False)
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
        task.assignee = assignee
        record(
            session,
            task.case,
            user.name,
            "delegated" if delegate else "assigned",
            f"{task.title} → {assignee.name}",
            details={"task": task.name, "to": assignee.name},
        )
        return task

    def _answered(self, session, user, key, task_id, sent) -> Case | None:
        answered = session.scalar(
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
        return session.get(Case, answered.case_id)

    def locked_open_task(self, session, user, task_id, must_work=True) -> HumanTaskRow:
        """The task, its case locked, if it is open and this user may work it."""
        owner = select(HumanTaskRow.case_id).where(HumanTaskRow.id == task_id)
        case = self._locked(session, owner.scalar_subquery())
        # Read after the lock, as the lock holder sees it.
        task = case and session.get(HumanTaskRow, task_id, populate_existing=True)
        if task is None:
            raise NotFound(f"no task {task_id}", task_id=task_id)
        set_committed_value(task, "case", case)
        if not (can_see_case(user, case) or can_work_task(user, task)):
            raise NotFound(f"no task {task_id}", task_id=task_id)
        if task.closed_at is not None:
            raise Conflict(
                f"task {task_id} is no longer open",
                task_id=task_id,
                case_number=task.case.number,
            )
        if must_work and not can_work_task(user, task):
            raise Forbidden(f"task {task_id} is not yours to work on", task_id=task_id)
        return task

    # Decisions, each checking its fields and returning data for the engine

    def _dispatch(self, session, case, completion):
        fields, known = completion.fields, reference(session)
        category = fields.get("category")
        if category not in known.usual_departments:
            raise Invalid(
                "the dispatch does not fit",
                errors={"category": [f"unknown category {category!r}"]},
            )
        suggestion = catalogue.suggest(session, category, case.street)
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

    def _merge(self, session, case, completion):
        number = completion.fields.get("duplicate_of") or ""
        target = session.scalar(select(Case).where(Case.number == number))
        if target is None or target.id == case.id:
            raise Invalid(
                "the merge does not fit",
                errors={"duplicate_of": [f"no other case {number!r}"]},
            )
        # Its timeline is written too: it changes under its own lock.
        self.lock(session, target)
        why = _why_not_merged_into(case, target)
        if why:
            raise Invalid("the merge does not fit", errors={"duplicate_of": [why]})
        case.duplicate_of = target.number
        record(
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
        send_transfer(session, case, partner)
        return {"partner": partner}, f"transferred to {PARTNERS[partner]}"

    def _with_reason(self, session, case, completion):
        return {}, completion.fields.get("reason")

    def _returned(self, session, case, completion):
        return {"return_count": case.return_count + 1}, completion.fields.get("reason")

    def _with_result(self, session, case, completion):
        # The reporter's confirmation is due by the category's limit from now.
        deadlines = Deadlines.load(session, self.settings)
        limit = deadlines.policy.limit(case.category_code, "confirming")
        due = deadlines.calendar.add(clock.now(), limit.amount, limit.unit)
        return {"confirm_due": due.isoformat()}, completion.fields.get("result")

    def _with_note(self, session, case, completion):
        return {}, completion.fields.get("note")

    def _after_return(self, session, case, instance, department) -> None:
        """退单: counted per case; at the threshold supervisors arbitrate (交办)."""
        case.return_count += 1
        if case.return_count < self.settings.supervision_on_return:
            return
        reason = f"returned {case.return_count} times by departments"
        if any(t.name == "arbitrate" for t in instance.human_tasks()):
            deadlines = Deadlines.load(session, self.settings)
            Ladder(session, deadlines.policy.grouping).supervise(
                case, case.status, f"{reason}: arbitration", clock.now()
            )
        else:
            self.supervise(session, case, instance, reason)

    # Supervision

    def escalate_if_due(self, session: Session, case: Case, now) -> bool:
        """Climb the ladder as far as the stage's lateness says; False if not due.

        The sweep calls this for late stages; a change to a case calls it first,
        so that a step arriving before the sweep does not skip the reminder or
        supervision its lateness had already earned.
        """
        deadlines = Deadlines.load(session, self.settings)
        deadline = deadlines.open_deadline(case)
        if deadline is None or deadline.next_check_at is None:
            return False
        if deadline.next_check_at > now:
            return False
        if deadline.reminded_at is None and now >= deadline.due_at:
            Ladder(session, deadlines.policy.grouping).remind(case, deadline, now)
        if deadline.supervised_at is None and now >= deadline.supervise_at:
            self.supervise(
                session,
                case,
                self.instance(session, case),
                f"{deadline.stage} not done within twice {deadline.limit}",
            )
        deadlines.reschedule(deadline)
        return True

    def supervise(self, session, case, instance, reason, actor=SYSTEM) -> None:
        """Raise level 3 on the current stage and open a supervise task for it."""
        stage, now = case.status, clock.now()
        deadlines = Deadlines.load(session, self.settings)
        Ladder(session, deadlines.policy.grouping).supervise(case, stage, reason, now)
        deadline = deadlines.open_deadline(case)
        if deadline is not None and deadline.supervised_at is None:
            deadline.supervised_at = now
            deadline.next_check_at = None
        supervised = any(t.name == "supervise" for t in instance.human_tasks())
        if not supervised and not instance.signal(SUPERVISION_SIGNAL):
            log.warning(
                "the diagram has no supervise task for this stage",
                extra={"case": case.number, "stage": stage},
            )
        self.sync(session, case, instance, actor)

    # Locks, instances and keeping the indexes in step with the engine

    def lock(self, session: Session, case: Case) -> None:
        """Hold the case's row until the transaction ends, and read it afresh."""
        self._locked(session, case.id)

    def lock_unless_held(self, session: Session, case_id: int) -> Case | None:
        """The case, locked and read afresh; None if another transaction holds it."""
        free = (
            select(Case.id)
            .where(Case.id == case_id)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        return self._locked(session, free)

    @staticmethod
    def _locked(session: Session, case_id) -> Case | None:
        """Lock a case's row and read it as the lock holder sees it; None if absent."""
        # The UPDATE takes the row lock on PostgreSQL and the write lock on SQLite,
        # so no two writers advance one case at once; it answers with the row.
        case = session.scalars(
            update(Case)
            .where(Case.id == case_id)
            .values(revision=Case.revision + 1)
            .returning(Case)
            .execution_options(populate_existing=True, synchronize_session=False)
        ).one_or_none()
        if case is not None:
            session.expire(case, ["photos", "timeline", "open_tasks"])
        Deadlines.reread_deadlines(session)
        Ladder.reread(session)
        return case

    def instance(self, session: Session, case: Case) -> CaseInstance:
        """The case's instance as stored, which its task and timer rows index."""
        definition = self.registry.definition_of(session, case.process_version_id)
        instance = CaseInstance.restore(definition, case.instance)
        instance.indexed = instance.waiting()
        return instance

    def sync(
        self,
        session: Session,
        case: Case,
        instance: CaseInstance,
        actor: str,
        finished_task: HumanTaskRow | None = None,
        outcome: str | None = None,
        previous_status: str | None = "unchanged",
    ) -> None:
        """Save the instance and bring tasks, timers, status and deadlines in step."""
        now = clock.now()
        if previous_status == "unchanged":
            previous_status = case.status

        deadlines = Deadlines.load(session, self.settings)
        waiting = instance.waiting()
        ready = waiting.tasks
        self._sync_tasks(deadlines, instance, case, ready, now, finished_task, outcome)
        self._sync_timers(session, case, instance, waiting.timers)
        instance.indexed = waiting

        case.status = _status(instance, ready.values(), case.status)
        if case.status != previous_status:
            unanswered = "closed_unanswered" in instance.end_events
            self._move_stage(deadlines, case, previous_status, now, unanswered)
        self._pause_for_arbitration(deadlines, case, ready.values(), now)
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

    def _sync_tasks(
        self, deadlines, instance, case, ready, now, finished_task, outcome
    ):
        session = deadlines.session
        if instance.indexed is None:
            open_ids = self._close_open_rows(session, case, ready, now, finished_task)
        else:
            open_ids = set(instance.indexed.tasks)
            finished = {finished_task.engine_id} if finished_task else set()
            if open_ids - ready.keys() - finished:
                # Others than the finished task end too: cancel them as they stand.
                open_ids = self._close_open_rows(
                    session, case, ready, now, finished_task
                )
        if finished_task is not None and finished_task.engine_id not in ready:
            finished_task.closed_at = now
            finished_task.outcome = outcome
        for engine_id, task in ready.items():
            if engine_id not in open_ids:
                session.add(
                    self._task_row(deadlines, instance, case, engine_id, task, now)
                )

    @staticmethod
    def _close_open_rows(session, case, ready, now, finished_task) -> set[str]:
        """Cancel the open task rows the engine moved past; the ids of all open."""
        open_rows = session.scalars(
            select(HumanTaskRow).where(
                HumanTaskRow.case_id == case.id, HumanTaskRow.closed_at.is_(None)
            )
        ).all()
        for row in open_rows:
            if row.engine_id not in ready and row is not finished_task:
                row.closed_at = now
                row.outcome = "cancelled"
        return {row.engine_id for row in open_rows}

    @staticmethod
    def _sync_timers(session, case, instance, waiting) -> None:
        if instance.indexed is None:
            _sync_timer_rows(session, case, waiting)
            return
        indexed = instance.indexed.timers
        kept = {i for i, timer in waiting.items() if indexed.get(i) == timer}
        stale = indexed.keys() - kept
        if stale:
            # These rows were never loaded here: they go without being read.
            session.connection().execute(
                delete(PendingTimerRow).where(
                    PendingTimerRow.case_id == case.id,
                    PendingTimerRow.engine_id.in_(sorted(stale)),
                )
            )
        for engine_id in waiting.keys() - kept:
            session.add(_timer_row(case, waiting[engine_id]))

    def _task_row(self, deadlines, instance, case, engine_id, task, now):
        """A new open task: who may work it and by when, from lanes or as drawn."""
        drawn = instance.definition.task_assignment(task.element_id)
        lane = task.lane
        department = case.department_code if task.name == "handle" else None
        if lane not in LANE_ROLES and drawn.candidate_groups:
            codes = reference(deadlines.session).departments
            lane, department = lane_of_groups(drawn.candidate_groups, codes)
        users = list(drawn.candidate_users)
        assignee = drawn.assignee or (users[0] if len(users) == 1 else None)
        if task.name in STAGE_OF_TASK:
            limit = deadlines.policy.limit(case.category_code, STAGE_OF_TASK[task.name])
            due = deadlines.calendar.add(now, limit.amount, limit.unit)
        else:
            due = drawn.due_at(now)
        return HumanTaskRow(
            case_id=case.id,
            engine_id=engine_id,
            element_id=task.element_id,
            name=task.name,
            title=task.title,
            lane=lane,
            department_code=department,
            assignee=deadlines.session.scalar(select(User).where(User.name == assignee))
            if assignee
            else None,
            candidate_users=f",{','.join(users)}," if users else None,
            created_at=now,
            due_at=due,
        )

    def _pause_for_arbitration(self, deadlines, case, ready, now) -> None:
        """A case waiting for arbitration does not use its stage's time."""
        deadline = deadlines.open_deadline(case)
        if deadline is None or deadline.stage != "triage":
            return
        if any(task.name == "arbitrate" for task in ready):
            deadlines.pause(deadline, now)
        elif deadline.paused_since is not None:
            deadlines.resume(deadline, now)

    def _move_stage(self, deadlines, case, previous_status, now, unanswered) -> None:
        """Close the old stage's deadline and escalations, open the new stage's."""
        session = deadlines.session
        ladder = Ladder(session, deadlines.policy.grouping)
        if previous_status is not None:
            closed = deadlines.close_stage(case, now)
            ladder.close_stage(
                case, previous_status, now, f"the case moved on from {previous_status}"
            )
            if unanswered and case.status == "closed":
                limit = closed.limit if closed else "its limit"
                record(
                    session,
                    case,
                    SYSTEM,
                    "closed_unanswered",
                    f"closed automatically: the reporter did not answer within {limit}",
                )
        if case.status in FINAL_STATUSES:
            case.closed_at = case.closed_at or now
        else:
            deadlines.open_stage(case, case.status, now)
        case.escalation_level = ladder.level_of(case)


def _sync_timer_rows(session, case, waiting) -> None:
    """Bring the timer rows in step with what they are not known to hold."""
    waiting = dict(waiting)
    rows = session.scalars(
        select(PendingTimerRow).where(PendingTimerRow.case_id == case.id)
    )
    for row in rows:
        timer = waiting.pop(row.engine_id, None)
        if timer is None:
            session.delete(row)
        else:
            row.due_at = timer.due_at
    for timer in waiting.values():
        session.add(_timer_row(case, timer))


def _timer_row(case, timer) -> PendingTimerRow:
    return PendingTimerRow(
        case_id=case.id,
        engine_id=timer.engine_id,
        element_id=timer.element_id,
        due_at=timer.due_at,
    )


def _status(instance: CaseInstance, ready, current: str) -> str:
    if instance.completed:
        return next(
            (OUTCOMES[e] for e in reversed(instance.end_events) if e in OUTCOMES),
            "closed",
        )
    names = {task.name for task in ready}
    return next((s for name, s in STAGE_OF_TASK.items() if name in names), current)


def _why_not_merged_into(case: Case, target: Case) -> str | None:
    if target.created_at > case.created_at:
        return f"{target.number} is newer than this case"
    if target.status == "merged":
        return f"{target.number} was merged into {target.duplicate_of}: merge into that"
    if target.status == "rejected":
        return f"{target.number} was rejected"
    return None


def _refuse_if_held(task: HumanTaskRow, user: User) -> None:
    if task.assignee_id not in (None, user.id):
        raise Conflict(
            f"task {task.id} is held by {task.assignee.name}",
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
