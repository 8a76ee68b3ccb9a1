"""Reporters' pages: report from a phone, follow my reports, confirm or dispute."""

import re

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from models import Case, HumanTaskRow
from models.base import MAX_ROW_ID
from service import i18n, queues
from service.api import db_session, deadline_of, extension
from service.case_file import CaseFile
from service.casework import Report
from service.database import roll_back
from service.pages.session import (
    REPORTER_ROLES,
    page_user,
    serve_signed_pages,
    signed_in,
)
from service.pages.staff import (
    KEY_PATTERN,
    complete_task,
    new_idempotency_key,
    reference,
    uploaded_photos,
)
from service.permissions import can_see_case, can_work_task
from service.schemas import MAX_PAGE, ReportFormSchema
from workflows.errors import Invalid, NotFound, SuishoupaiError, checked_together

blp = Blueprint("reporter", __name__, url_prefix="/report")
serve_signed_pages(blp)

REPORT_FIELDS = ("description", "lat", "lng", "address", "street", "category")
CASES_PER_PAGE = 20
CASE_NUMBER = re.compile(r"[A-Z]+-\d{8}-\d+")


@blp.route("/", methods=["GET", "POST"])
@signed_in(*REPORTER_ROLES)
def new_report():
    """Photos from the camera, the phone's position and a few words become a case."""
    if request.method == "GET":
        return _report_page({})

    sent = {k: request.form.get(k, "") for k in REPORT_FIELDS}
    try:
        case = _submit(sent)
    except SuishoupaiError as error:
        roll_back(db_session())
        return _report_page(sent, error.status, error)
    flash(i18n.Words(g.lang)("report.sent", number=case.number), "ok")
    return redirect(url_for(".case", number=case.number), code=303)


def _submit(sent: dict) -> CaseFile:
    """Check the form like the API's POST /reports does, then report in-process."""
    filled = {k: v.strip() for k, v in sent.items() if v.strip()}
    photos = uploaded_photos()
    try:
        form = _report_form(filled)
    except Invalid:
        # Name a bad photo beside the bad fields; photos are read once the form fits.
        intake = extension("casework").intake
        checked_together(
            lambda: _report_form(filled), lambda: intake.check(photos, required=1)
        )
        raise
    if ("lat" in form) != ("lng" in form):
        both = ["give both or neither"]
        raise Invalid("give both lat and lng, or neither", errors={"lat": both})
    report = Report(
        description=form["description"],
        photos=photos,
        lat=form.get("lat"),
        lng=form.get("lng"),
        address=form.get("address"),
        street=form.get("street"),
        category=form.get("category"),
    )
    key = request.form.get("idempotency_key", "")
    return extension("casework").submit_report(
        db_session(),
        page_user(),
        report,
        idempotency_key=key if KEY_PATTERN.fullmatch(key) else None,
        key_per_request=False,  # one key per form shown: a second send is a retry
    )


def _report_form(filled: dict) -> dict:
    try:
        return ReportFormSchema().load(filled)
    except ValidationError as error:
        raise Invalid(
            "the report does not fit: see errors", errors=error.messages
        ) from error


def _report_page(sent: dict, status=200, problem=None):
    counts = queues.counts(db_session(), page_user())
    settings = extension("settings")
    page = render_template(
        "reporter/new.html",
        sent=sent,
        problem=problem,
        errors=(problem.errors if problem else None) or {},
        waiting=counts.get("mine", 0),
        max_photos=settings.max_photos,
        idempotency_key=new_idempotency_key(),
        switch_path=url_for(".new_report"),
        **reference(),
    )
    return page, status


@blp.get("/mine")
@signed_in(*REPORTER_ROLES)
def my_reports():
    """My cases, newest first, with their status and the department's photos."""
    session, user = db_session(), page_user()
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    cases = session.scalars(
        select(Case)
        .where(Case.reporter_id == user.id)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset((page - 1) * CASES_PER_PAGE)
        .limit(CASES_PER_PAGE + 1)
    ).all()
    more, cases = len(cases) > CASES_PER_PAGE, cases[:CASES_PER_PAGE]
    waiting = set(
        session.scalars(
            select(HumanTaskRow.case_id).where(
                HumanTaskRow.case_id.in_([c.id for c in cases]),
                HumanTaskRow.closed_at.is_(None),
                HumanTaskRow.name == "confirm",
            )
        )
    )
    return render_template(
        "reporter/mine.html",
        cases=cases,
        waiting=waiting,
        page=page,
        more=more,
        **reference(),
    )


@blp.get("/cases/<string:number>")
@signed_in(*REPORTER_ROLES)
def case(number):
    """One of my cases: what I sent, what the department did, and my answer."""
    return _case_page(number)


@blp.post("/cases/<string:number>/confirm")
@signed_in(*REPORTER_ROLES)
def confirm(number):
    """Satisfied closes the case; not satisfied sends it back to the department."""
    found = _my_case(number)
    task_id = request.form.get("task_id", type=int)
    known = task_id is not None and 0 < task_id <= MAX_ROW_ID
    task = db_session().get(HumanTaskRow, task_id) if known else None
    if task is None or task.case_id != found.id:
        raise NotFound(f"no task {task_id} of case {number}", case_number=number)
    answer = ("decision", "note", "reason")
    sent = {k: v for k, v in request.form.items() if k in answer}
    try:
        done = complete_task(task.id, sent).case
    except SuishoupaiError as error:
        roll_back(db_session())
        return _case_page(number, error.status, error, sent)
    words = i18n.Words(g.lang)
    flash(
        words("confirm.done", number=done.number, status=words.status(done.status)),
        "ok",
    )
    return redirect(url_for(".case", number=number), code=303)


def _my_case(number: str) -> Case:
    found = None
    if CASE_NUMBER.fullmatch(number):
        found = db_session().scalar(select(Case).where(Case.number == number))
    if found is None or not can_see_case(page_user(), found):
        raise NotFound(f"no case {number}", case_number=number)
    return found


def _case_page(number: str, status=200, problem=None, sent=None):
    found, user = _my_case(number), page_user()
    confirm_task = next(
        (t for t in found.open_tasks if t.name == "confirm" and can_work_task(user, t)),
        None,
    )
    results = [e for e in found.timeline if e.action == "handled"]
    page = render_template(
        "reporter/case.html",
        case=found,
        confirm_task=confirm_task,
        result=results[-1] if results else None,
        deadline=deadline_of(found) if found.closed_at is None else None,
        problem=problem,
        sent=sent or {},
        errors=(problem.errors if problem else None) or {},
        idempotency_key=new_idempotency_key(),
        switch_path=url_for(".case", number=found.number),
        **reference(),
    )
    return page, status
