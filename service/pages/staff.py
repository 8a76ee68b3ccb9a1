"""Staff pages: the task queue with filters and counts, one task with its case, and
the extension requests (延期) waiting for triage.

Each page calls the domain layer in-process, inside the request's transaction;
a refusal from it rolls the transaction back and is shown on the page.
"""

import re
import secrets
from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy import func, select

from models import (
    Case,
    Category,
    Department,
    ExtensionRequest,
    HumanTaskRow,
    SavedFilter,
    User,
)
from models.base import MAX_ROW_ID
from models.cases import STATUSES
from service import catalogue, i18n, queues
from service.api import db_session, deadline_of, extension
from service.api.cases import visible_cases
from service.api.tasks import queue_request
from service.casework import PARTNERS, Completion
from service.database import roll_back
from service.extensions import DECIDERS
from service.forms import form_of
from service.pages.session import (
    STAFF_ROLES,
    page_user,
    serve_signed_pages,
    signed_in,
)
from service.permissions import can_see_case, can_work_task, may_reassign
from service.photos import UploadedPhoto
from service.schemas import (
    AssignSchema,
    CompletionSchema,
    DraftSchema,
    ExtensionDecisionSchema,
    ExtensionRequestSchema,
    TaskQuerySchema,
)
from workflows.clock import clock
from workflows.errors import Invalid, NotFound, SuishoupaiError

blp = Blueprint("staff", __name__, url_prefix="/staff")
serve_signed_pages(blp)

# The queue's filters, as the API's GET /tasks names them.
FILTERS = (
    "queue",
    "category",
    "department",
    "status",
    "overdue",
    "due_before",
    "street",
    "q",
    "near",
    "within_m",
)
QUEUE_ARGS = (*FILTERS, "sort")
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
TASKS_PER_PAGE = 25
DECIDED_SHOWN = 20


# The queue


@blp.get("/")
@signed_in(*STAFF_ROLES)
def queue():
    """A queue of open tasks, filtered and sorted, a page at a time."""
    return _queue_page(_queue_args(request.args))


def _queue_args(source) -> dict:
    """The filters of a query or form, as the API names and reads them."""
    wanted = {k: v for k in QUEUE_ARGS if (v := source.get(k, "").strip())}
    # The form asks for a point in two boxes, which "use my position" fills; the
    # API and saved filters keep it as `near=lat,lng`.
    lat, lng = (source.get(k, "").strip() for k in ("lat", "lng"))
    if lat or lng:
        wanted["near"] = f"{lat},{lng}"
    if "due_before" in wanted:
        wanted["due_before"] = _aware(wanted["due_before"])
    return wanted


def _queue_page(wanted: dict, status=200, problem=None, save_errors=None):
    session, user, words = db_session(), page_user(), _words()
    counts = queues.counts(session, user)
    chosen = {"queue": "available", "sort": "due", **wanted}
    after = request.args.get("after") or None
    items, cursor, filter_errors = [], None, {}
    try:
        args = TaskQuerySchema().load(
            {**chosen, "limit": TASKS_PER_PAGE, **({"after": after} if after else {})}
        )
        found = queues.page(session, user, queue_request(args))
        items, cursor = found["items"], found["next"]
    except ValidationError as error:
        status, filter_errors = 422, error.messages
        problem = problem or Invalid(words("error.fix_below"), errors=error.messages)
    except SuishoupaiError as error:
        roll_back(session)
        status, problem = error.status, problem or error
        filter_errors = error.errors or {}
    saved = session.scalars(
        select(SavedFilter)
        .where(SavedFilter.user_id == user.id)
        .order_by(SavedFilter.name)
    ).all()
    near_lat, _, near_lng = chosen.get("near", "").partition(",")
    page = render_template(
        "staff/queue.html",
        chosen=chosen,
        near_lat=near_lat,
        near_lng=near_lng,
        due_before_local=_local(chosen.get("due_before", "")),
        pending_extensions=_pending_count(session, user),
        wanted=wanted,
        tabs=[q for q in queues.QUEUES if q in counts],
        counts=counts,
        items=items,
        cursor=cursor,
        after=after,
        now=clock.now(),
        saved=[(item, _saved_link(item.params)) for item in saved],
        filter_errors=filter_errors,
        save_errors=save_errors or {},
        problem=problem,
        sort_options=[(name, words(f"sort.{name}")) for name in queues.SORTS],
        status_options=[(name, words.status(name)) for name in STATUSES],
        overdue_options=[("true", words("filter.yes")), ("false", words("filter.no"))],
        queue_url=_queue_url(wanted),
        **reference(),
    )
    return page, status


def _saved_link(params: dict) -> str:
    # Saved through the API, a filter may hold more than the page's fields.
    kept = {
        k: ",".join(map(str, v)) if isinstance(v, list) else str(v)
        for k, v in params.items()
        if k in QUEUE_ARGS and v is not None
    }
    return url_for(".queue", **kept)


def _aware(typed: str) -> str:
    """A moment typed on a page, read on the district's clock unless it names a zone."""
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        # Kept as typed, for the schema to name it at its field.
        return typed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=i18n.ZONE)
    return moment.isoformat()


def _local(kept: str) -> str:
    """A kept moment as a date-time box shows it, on the district's clock."""
    try:
        moment = datetime.fromisoformat(kept)
        if moment.tzinfo is not None:
            moment = moment.astimezone(i18n.ZONE)
    except (ValueError, OverflowError):
        # Not a moment, or one at the calendar's very edge: shown as typed.
        return kept
    return moment.strftime("%Y-%m-%dT%H:%M")


def _queue_url(wanted: dict):
    """Links that keep the queue's filters and change some of them."""

    def link(**changes) -> str:
        args = {**wanted, **changes}
        return url_for(".queue", **{k: v for k, v in args.items() if v})

    return link


@blp.post("/filters")
@signed_in(*STAFF_ROLES)
def save_filter():
    """Keep the queue's current filters under a name (the same name replaces it)."""
    session, user = db_session(), page_user()
    params = _queue_args(request.form)
    name = request.form.get("name", "").strip()
    errors, words = {}, _words()
    if not name:
        errors["name"] = [words("fielderror.required")]
    elif len(name) > 80:
        errors["name"] = [words("fielderror.length", count=80)]
    problems = TaskQuerySchema().validate(params)
    if errors or problems:
        problem = Invalid("the filter does not fit", errors={**errors, **problems})
        return _queue_page(params, 422, problem, save_errors=errors)

    saved = session.scalar(
        select(SavedFilter).where(
            SavedFilter.user_id == user.id, SavedFilter.name == name
        )
    )
    if saved is None:
        saved = SavedFilter(user_id=user.id, name=name, created_at=clock.now())
        session.add(saved)
    saved.params = params
    flash(_words()("saved.saved", name=name), "ok")
    return redirect(url_for(".queue", **params), code=303)


@blp.post("/filters/<int:filter_id>/delete")
@signed_in(*STAFF_ROLES)
def delete_filter(filter_id):
    session = db_session()
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != page_user().id:
        raise NotFound(f"no saved filter {filter_id}")
    session.delete(saved)
    flash(_words()("saved.deleted"), "ok")
    return redirect(url_for(".queue"), code=303)


# One task


@blp.get("/tasks/<int:task_id>")
@signed_in(*STAFF_ROLES)
def task(task_id):
    """The case behind a task (photos, position, timeline) and the task's form."""
    return _task_page(task_id)


@blp.post("/tasks/<int:task_id>/claim")
@signed_in(*STAFF_ROLES)
def claim(task_id):
    return _act(task_id, "claim", "task.claimed")


@blp.post("/tasks/<int:task_id>/release")
@signed_in(*STAFF_ROLES)
def release(task_id):
    return _act(task_id, "release", "task.released")


@blp.post("/tasks/<int:task_id>/assign")
@signed_in(*STAFF_ROLES)
def assign(task_id):
    """Give the task to someone who may work it (supervisors; triage in its lane)."""
    return _hand_over(task_id, delegate=False)


@blp.post("/tasks/<int:task_id>/delegate")
@signed_in(*STAFF_ROLES)
def delegate(task_id):
    """Hand the task I hold to a colleague who may work it."""
    return _hand_over(task_id, delegate=True)


def _hand_over(task_id: int, delegate: bool):
    name = request.form.get("user", "").strip()
    handing = {"how": "delegate" if delegate else "assign", "user": name}
    try:
        body = _checked(AssignSchema(), {"user": name} if name else {})
        task = extension("casework").assign(
            db_session(), page_user(), task_id, body["user"], delegate=delegate
        )
    except SuishoupaiError as error:
        roll_back(db_session())
        return _task_page(task_id, error.status, problem=error, handing=handing)
    done = "handover.delegated" if delegate else "handover.assigned"
    flash(_words()(done, name=task.assignee_name), "ok")
    return redirect(url_for(".task", task_id=task_id), code=303)


def _act(task_id: int, action: str, done: str):
    try:
        getattr(extension("casework"), action)(db_session(), page_user(), task_id)
    except SuishoupaiError as error:
        roll_back(db_session())
        return _task_page(task_id, error.status, problem=error)
    flash(_words()(done), "ok")
    return redirect(url_for(".task", task_id=task_id), code=303)


@blp.post("/tasks/<int:task_id>/draft")
@signed_in(*STAFF_ROLES)
def save_draft(task_id):
    """Keep what the form holds so far; the task stays open."""
    sent = _sent_fields()
    try:
        try:
            fields = DraftSchema().load(sent)
        except ValidationError as error:
            raise Invalid("the draft does not fit", errors=error.messages) from error
        extension("casework").save_draft(db_session(), page_user(), task_id, fields)
    except SuishoupaiError as error:
        roll_back(db_session())
        return _task_page(task_id, error.status, problem=error, sent=sent)
    flash(_words()("form.draft_saved"), "ok")
    return redirect(url_for(".task", task_id=task_id), code=303)


@blp.post("/tasks/<int:task_id>/complete")
@signed_in(*STAFF_ROLES)
def complete(task_id):
    """Finish the task with one decision of its form, photos with it if it asks."""
    sent = _sent_fields()
    try:
        case = complete_task(task_id, sent).case
    except SuishoupaiError as error:
        roll_back(db_session())
        return _task_page(task_id, error.status, problem=error, sent=sent)
    words = _words()
    flash(
        words("form.completed", number=case.number, status=words.status(case.status)),
        "ok",
    )
    return redirect(url_for(".queue"), code=303)


# Extensions (延期)


@blp.post("/tasks/<int:task_id>/extension")
@signed_in(*STAFF_ROLES)
def ask_for_time(task_id):
    """Ask for more time on a handling task; its clock stops until triage decides."""
    asked = {k: request.form.get(k, "").strip() for k in ("reason", "until")}
    try:
        typed = {"reason": asked["reason"], "until": _aware(asked["until"])}
        body = _checked(ExtensionRequestSchema(), {k: v for k, v in typed.items() if v})
        extension("extension_requests").request(
            db_session(), page_user(), task_id, body["reason"], body["until"]
        )
    except SuishoupaiError as error:
        roll_back(db_session())
        return _task_page(task_id, error.status, problem=error, asked=asked)
    flash(_words()("extension.asked"), "ok")
    return redirect(url_for(".task", task_id=task_id), code=303)


@blp.get("/extensions")
@signed_in(*STAFF_ROLES)
def extensions():
    """Extension requests waiting for a decision, and the latest decided."""
    return _extensions_page()


@blp.post("/extensions/<int:request_id>/decision")
@signed_in(*STAFF_ROLES)
def decide_extension(request_id):
    """Approve (the deadline moves to the date asked) or refuse, with a note."""
    deciding = {
        "id": request_id,
        "approve": request.form.get("approve", ""),
        "note": request.form.get("note", "").strip(),
    }
    # Sent from a task page, the answer goes back to that page.
    back = request.form.get("task_id", type=int)
    if back is not None and not 0 < back <= MAX_ROW_ID:
        back = None  # no task has that id: answer on the extensions page
    try:
        sent = {k: deciding[k] for k in ("approve", "note") if deciding[k]}
        body = _checked(ExtensionDecisionSchema(), sent)
        decided = extension("extension_requests").decide(
            db_session(), page_user(), request_id, body["approve"], body.get("note")
        )
    except SuishoupaiError as error:
        roll_back(db_session())
        if back is not None:
            return _task_page(back, error.status, problem=error, deciding=deciding)
        return _extensions_page(error.status, problem=error, deciding=deciding)
    words = _words()
    if decided.approved:
        flash(words("extension.approved", until=words.when(decided.until)), "ok")
    else:
        flash(words("extension.refused"), "ok")
    if back is not None:
        return redirect(url_for(".task", task_id=back), code=303)
    return redirect(url_for(".extensions"), code=303)


def _extensions_page(status=200, problem=None, deciding=None):
    session, user = db_session(), page_user()
    seen = _requests_seen_by(user)
    pending = session.scalars(
        seen.where(ExtensionRequest.decided_at.is_(None)).order_by(
            ExtensionRequest.requested_at, ExtensionRequest.id
        )
    ).all()
    decided = session.scalars(
        seen.where(ExtensionRequest.decided_at.is_not(None))
        .order_by(ExtensionRequest.decided_at.desc(), ExtensionRequest.id.desc())
        .limit(DECIDED_SHOWN)
    ).all()
    shown = [*pending, *decided]
    task_of_case = _task_links(session, {r.case_id for r in shown})
    page = render_template(
        "staff/extensions.html",
        pending=pending,
        decided=decided,
        links={
            r.id: url_for(".task", task_id=task_of_case[r.case_id])
            for r in shown
            if r.case_id in task_of_case
        },
        can_decide=user.role in DECIDERS,
        deciding=deciding or {},
        decide_errors=_errors_of(problem) if deciding else {},
        problem=problem,
    )
    return page, status


def _requests_seen_by(user: User):
    cases = visible_cases(user).with_only_columns(Case.id)
    return select(ExtensionRequest).where(ExtensionRequest.case_id.in_(cases))


def _pending_count(session, user: User) -> int:
    seen = _requests_seen_by(user).where(ExtensionRequest.decided_at.is_(None))
    return session.scalar(select(func.count()).select_from(seen.subquery()))


def _task_links(session, case_ids: set[int]) -> dict[int, int]:
    """For each case, the task page to open: its open task, else its latest."""
    rows = session.execute(
        select(HumanTaskRow.case_id, HumanTaskRow.id, HumanTaskRow.closed_at)
        .where(HumanTaskRow.case_id.in_(case_ids))
        .order_by(HumanTaskRow.id)
    ).all()
    links, open_cases = {}, set()
    for case_id, task_id, closed_at in rows:
        if closed_at is None or case_id not in open_cases:
            links[case_id] = task_id
        if closed_at is None:
            open_cases.add(case_id)
    return links


def _checked(schema: Schema, sent: dict) -> dict:
    """The form read by the API's schema; what does not fit is named per field."""
    try:
        return schema.load(sent)
    except ValidationError as error:
        message = _words()("error.fix_below")
        raise Invalid(message, errors=error.messages) from error


def _errors_of(problem) -> dict:
    return (problem.errors if problem and problem.errors else {}) or {}


def complete_task(task_id: int, sent: dict):
    """Check the sent form like the API does, then complete the task in-process."""
    fields = {k: v for k, v in sent.items() if v.strip()}
    errors = CompletionSchema().validate(fields)
    if errors:
        raise Invalid("the completion does not fit: see errors", errors=errors)
    data = CompletionSchema().load(fields)
    completion = Completion(
        decision=data.pop("decision"), fields=data, photos=uploaded_photos()
    )
    key = request.form.get("idempotency_key", "")
    return extension("casework").complete(
        db_session(),
        page_user(),
        task_id,
        completion,
        idempotency_key=key if KEY_PATTERN.fullmatch(key) else None,
        key_per_request=False,  # one key per page shown, whichever form is sent
    )


def _sent_fields() -> dict:
    skip = ("csrf_token", "idempotency_key")
    return {k: v for k, v in request.form.items() if k not in skip}


def uploaded_photos() -> list[UploadedPhoto]:
    """The chosen photos; a file field left empty sends a part with no name."""
    return [
        UploadedPhoto(filename=upload.filename, content=upload.read())
        for upload in request.files.getlist("photos")
        if upload.filename
    ]


def new_idempotency_key() -> str:
    # One per form shown: sending the form twice applies it once.
    return secrets.token_urlsafe(18)


def _task_page(
    task_id: int,
    status=200,
    problem=None,
    sent=None,
    asked=None,
    handing=None,
    deciding=None,
):
    """The task page; a form sent back with a problem keeps what was typed in it."""
    # Typed into: `sent` the task's own form, `asked` the extension request,
    # `handing` a reassignment or delegation, `deciding` an extension decision.
    session, user = db_session(), page_user()
    task = session.get(HumanTaskRow, task_id)
    if task is None or not (can_see_case(user, task.case) or can_work_task(user, task)):
        raise NotFound(f"no task {task_id}", task_id=task_id)
    case = task.case
    form = form_of(task.name)
    suggestion = None
    if task.name in ("triage", "arbitrate"):
        suggestion = catalogue.suggest(session, case.category_code, case.street)

    if sent is not None:
        values, open_decision = sent, sent.get("decision")
    else:
        values = task.draft or {}
        open_decision = values.get("decision")
    if open_decision is None and len(form.decisions) == 1:
        open_decision = form.decisions[0].name
    # A problem's fields are marked on the form that was sent, and no other.
    field_errors = _errors_of(problem) if sent is not None else {}

    held_by_other = task.assignee_id not in (None, user.id)
    is_open = task.closed_at is None
    can_work = is_open and can_work_task(user, task) and not held_by_other
    deadline = deadline_of(case) if case.closed_at is None else None
    asked_for_time = session.scalars(
        select(ExtensionRequest)
        .where(ExtensionRequest.case_id == case.id)
        .order_by(ExtensionRequest.id.desc())
    ).all()
    waiting = any(r.decided_at is None for r in asked_for_time)
    can_reassign = is_open and may_reassign(user, task)
    can_delegate = is_open and task.assignee_id == user.id
    known = reference()
    page = render_template(
        "staff/task.html",
        task=task,
        case=case,
        form=form,
        suggestion=suggestion,
        suggested_category=known["category_by_code"].get(
            suggestion.category if suggestion else None
        ),
        suggested_department=known["department_by_code"].get(
            suggestion.department if suggestion else None
        ),
        values=values,
        open_decision=open_decision,
        field_errors=field_errors,
        problem=problem,
        can_work=can_work,
        can_claim=is_open and task.assignee_id is None and can_work_task(user, task),
        can_release=is_open
        and task.assignee_id is not None
        and (task.assignee_id == user.id or user.role in ("admin", "supervisor")),
        held_by_other=held_by_other,
        deadline=deadline,
        overdue=task.due_at is not None and task.due_at < clock.now(),
        extension_requests=asked_for_time,
        can_ask_time=can_work
        and task.name == "handle"
        and not waiting
        and deadline is not None
        and deadline["stage"] == "handling",
        asked=asked or {},
        ask_errors=_errors_of(problem) if asked is not None else {},
        can_decide=waiting and user.role in DECIDERS,
        deciding=deciding or {},
        decide_errors=_errors_of(problem) if deciding is not None else {},
        can_reassign=can_reassign,
        can_delegate=can_delegate,
        colleagues=_colleagues(session, task) if can_reassign or can_delegate else [],
        handing=handing or {},
        hand_errors=_errors_of(problem) if handing is not None else {},
        idempotency_key=new_idempotency_key(),
        switch_path=url_for(".task", task_id=task.id),
        **known,
    )
    return page, status


def _colleagues(session, task: HumanTaskRow) -> list[str]:
    """Names of the staff who may work this task, offered when handing it over."""
    staff = session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.name)
    ).all()
    return [
        person.name
        for person in staff
        if person.id != task.assignee_id and can_work_task(person, task)
    ]


# Helpers shared with the reporter pages


def reference() -> dict:
    """Categories and departments, by code and as (value, label) choices."""
    session, words = db_session(), _words()
    categories = session.scalars(select(Category).order_by(Category.code)).all()
    departments = session.scalars(select(Department).order_by(Department.code)).all()
    return {
        "category_by_code": {c.code: c for c in categories},
        "department_by_code": {d.code: d for d in departments},
        "category_options": [(c.code, words.name(c)) for c in categories],
        "department_options": [(d.code, words.name(d)) for d in departments],
        "partner_options": [
            (code, words.partner(code, label)) for code, label in PARTNERS.items()
        ],
    }


def _words() -> i18n.Words:
    return i18n.Words(g.lang)
