"""Task queues and task actions: claim, release and complete."""

import base64
from datetime import datetime

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import and_, or_, select

from models import Case, HumanTaskRow
from service.api import db_session, extension
from service.api.uploads import is_multipart, uploaded_photos
from service.auth import current_user
from service.casework import Completion
from service.permissions import LANE_ROLES
from service.schemas import (
    CaseSchema,
    CompletionSchema,
    TaskListSchema,
    TaskQuerySchema,
    TaskSchema,
)
from workflows.errors import Forbidden, Invalid

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Task queues")


def queue_query(user, queue: str):
    """Open tasks of a queue, as a query that never loads case instances."""
    query = (
        select(HumanTaskRow)
        .join(Case, Case.id == HumanTaskRow.case_id)
        .where(HumanTaskRow.closed_at.is_(None))
    )
    if queue == "all":
        if user.role not in ("admin", "supervisor"):
            raise Forbidden("the 'all' queue is for supervisors")
        return query
    if queue == "mine":
        mine = HumanTaskRow.assignee_id == user.id
        if user.role == "reporter":
            mine = or_(
                mine, (HumanTaskRow.lane == "reporter") & (Case.reporter_id == user.id)
            )
        return query.where(mine)

    query = query.where(HumanTaskRow.assignee_id.is_(None))
    if user.role == "admin":
        return query
    lanes = [lane for lane, role in LANE_ROLES.items() if role == user.role]
    query = query.where(HumanTaskRow.lane.in_(lanes))
    if user.role == "handler":
        query = query.where(HumanTaskRow.department_code == user.department_code)
    if user.role == "reporter":
        query = query.where(Case.reporter_id == user.id)
    return query


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskListSchema)
    def get(self, query):
        """A queue, soonest due first: mine, available (claimable by me) or all

        Pages follow `next`: a cursor after the last item, so tasks that open or
        close meanwhile never make a page skip or repeat an item.
        """
        tasks = queue_query(current_user(), query["queue"])
        if query.get("after"):
            tasks = tasks.where(after_cursor(query["after"]))
        limit = query["limit"]
        items = (
            db_session()
            .scalars(
                tasks.order_by(
                    HumanTaskRow.due_at.asc().nulls_last(), HumanTaskRow.id
                ).limit(limit + 1)
            )
            .all()
        )
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next": cursor_of(items[-1]) if more else None}


def cursor_of(task: HumanTaskRow) -> str:
    due = task.due_at.isoformat() if task.due_at else "-"
    return base64.urlsafe_b64encode(f"{due}|{task.id}".encode()).decode()


def after_cursor(cursor: str):
    """The condition for tasks that sort after the one the cursor names."""
    try:
        due_text, task_id = base64.urlsafe_b64decode(cursor).decode().split("|")
        task_id = int(task_id)
        due = None if due_text == "-" else datetime.fromisoformat(due_text)
    except (ValueError, UnicodeDecodeError) as error:
        raise Invalid(
            "not a cursor this service gave",
            errors={"after": ["use the 'next' of the previous page"]},
        ) from error
    if due is None:
        return and_(HumanTaskRow.due_at.is_(None), HumanTaskRow.id > task_id)
    return or_(
        HumanTaskRow.due_at > due,
        and_(HumanTaskRow.due_at == due, HumanTaskRow.id > task_id),
        HumanTaskRow.due_at.is_(None),
    )


@blp.route("/tasks/<int:task_id>/claim")
class Claim(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id):
        """Take a task so that nobody else works on it"""
        return extension("casework").claim(db_session(), current_user(), task_id)


@blp.route("/tasks/<int:task_id>/release")
class Release(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id):
        """Give a claimed task back to its queue"""
        return extension("casework").release(db_session(), current_user(), task_id)


@blp.route("/tasks/<int:task_id>/complete")
class Complete(MethodView):
    @blp.doc(
        requestBody={
            "content": {
                "application/json": {"schema": CompletionSchema},
                "multipart/form-data": {"schema": CompletionSchema},
            }
        }
    )
    @blp.response(200, CaseSchema)
    def post(self, task_id):
        """Finish a task with a decision: JSON, or multipart when photos come with it"""
        if is_multipart():
            raw, photos = request.form.to_dict(), uploaded_photos()
        else:
            raw, photos = request.get_json(silent=True), []
            if not isinstance(raw, dict):
                raise Invalid(
                    "send a JSON object or a multipart form",
                    errors={"json": ["expected a JSON object"]},
                )
        errors = CompletionSchema().validate(raw)
        if errors:
            raise Invalid("the completion does not fit: see errors", errors=errors)
        data = CompletionSchema().load(raw)
        decision = data.pop("decision")
        completion = Completion(decision=decision, fields=data, photos=photos)
        return extension("casework").complete(
            db_session(), current_user(), task_id, completion
        )
