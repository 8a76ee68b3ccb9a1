"""Task queues and task actions: claim, release, assign, delegate, drafts, complete."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError
from sqlalchemy import select

from models import HumanTaskRow, SavedFilter
from service import catalogue, queues
from service.api import answer, db_session, extension
from service.api.uploads import is_multipart, uploaded_photos
from service.auth import current_user
from service.casework import Completion
from service.partners import PARTNERS
from service.permissions import can_see_case, can_work_task
from service.schemas import (
    AssignSchema,
    CaseSchema,
    CompletionSchema,
    DraftSchema,
    QueueCountsSchema,
    SavedFilterSchema,
    TaskDetailSchema,
    TaskListSchema,
    TaskQuerySchema,
    TaskSchema,
)
from workflows.clock import clock
from workflows.errors import Invalid, NotFound

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Task queues")
COMPLETION = CompletionSchema()


def queue_request(args: dict) -> queues.QueueQuery:
    near = args.get("near")
    return queues.QueueQuery(
        queue=args["queue"],
        sort=args["sort"],
        limit=args["limit"],
        after=args.get("after"),
        category=args.get("category"),
        department=args.get("department"),
        status=args.get("status"),
        overdue=args.get("overdue"),
        due_before=args.get("due_before"),
        street=args.get("street"),
        text=args.get("q"),
        near=tuple(near) if near else None,
        within_m=args["within_m"],
    )


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskListSchema)
    def get(self, args):
        """A queue: mine, available (claimable by me), department or all

        Filters narrow it; `sort` is due (soonest first), priority (most escalated
        first) or age (oldest first). Pages follow `next`, a cursor after the last
        item, so tasks that open or close meanwhile never make a page skip or
        repeat an item.
        """
        return queues.page(db_session(), current_user(), queue_request(args))


@blp.route("/tasks/counts")
class Counts(MethodView):
    @blp.response(200, QueueCountsSchema)
    def get(self):
        """How many open tasks each of my queues holds, and how many are overdue"""
        return queues.counts(db_session(), current_user())


@blp.route("/tasks/<int:task_id>")
class OneTask(MethodView):
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id):
        """A task with its form, its draft and, for triage, the suggested route"""
        user = current_user()
        task = db_session().get(HumanTaskRow, task_id)
        if task is None or not (
            can_see_case(user, task.case) or can_work_task(user, task)
        ):
            raise NotFound(f"no task {task_id}", task_id=task_id)
        return describe(task)


def describe(task: HumanTaskRow) -> dict:
    suggestion = None
    if task.name in ("triage", "arbitrate"):
        suggested = catalogue.suggest(
            db_session(), task.case.category_code, task.case.street
        )
        suggestion = vars(suggested)
    return {
        "task": task,
        "form": extension("casework").form(db_session(), task).describe(),
        "choices": {"partners": list(PARTNERS)},
        "draft": task.draft,
        "suggestion": suggestion,
        "can_work": can_work_task(current_user(), task) and task.closed_at is None,
    }


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


@blp.route("/tasks/<int:task_id>/assign")
class Assign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, TaskSchema)
    def post(self, body, task_id):
        """Reassign a task to someone who may work it (supervisors, triage)"""
        return extension("casework").assign(
            db_session(), current_user(), task_id, body["user"], delegate=False
        )


@blp.route("/tasks/<int:task_id>/delegate")
class Delegate(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, TaskSchema)
    def post(self, body, task_id):
        """Hand the task I hold to a colleague who may work it"""
        return extension("casework").assign(
            db_session(), current_user(), task_id, body["user"], delegate=True
        )


@blp.route("/tasks/<int:task_id>/draft")
class Draft(MethodView):
    @blp.arguments(DraftSchema)
    @blp.response(200, TaskDetailSchema)
    def put(self, body, task_id):
        """Keep what is filled in so far, without completing the task"""
        task = extension("casework").save_draft(
            db_session(), current_user(), task_id, body
        )
        return describe(task)


@blp.route("/tasks/<int:task_id>/complete")
class Complete(MethodView):
    @blp.doc(
        requestBody={
            "content": {
                "application/json": {"schema": CompletionSchema},
                "multipart/form-data": {"schema": CompletionSchema},
            }
        },
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string"},
                "description": "a retry with the same key is answered once",
            }
        ],
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
        try:
            data = COMPLETION.load(raw)
        except ValidationError as error:
            raise Invalid(
                "the completion does not fit: see errors", errors=error.messages
            ) from error
        # Fields a diagram's own form declares come through as they were sent.
        data.update({k: v for k, v in raw.items() if k not in COMPLETION.fields})
        completion = Completion(
            decision=data.pop("decision"), fields=data, photos=photos
        )
        key = request.headers.get("Idempotency-Key") or None
        file = extension("casework").complete(
            db_session(), current_user(), task_id, completion, idempotency_key=key
        )
        return answer(file)


# What a query asks of a page rather than of the tasks: a saved filter holds neither.
PAGING = ("after", "limit")


@blp.route("/filters")
class Filters(MethodView):
    @blp.response(200, SavedFilterSchema(many=True))
    def get(self):
        """My saved queue filters"""
        return (
            db_session()
            .scalars(
                select(SavedFilter)
                .where(SavedFilter.user_id == current_user().id)
                .order_by(SavedFilter.name)
            )
            .all()
        )

    @blp.arguments(SavedFilterSchema)
    @blp.response(201, SavedFilterSchema)
    def post(self, body):
        """Save a queue filter under a name (the same name replaces it)"""
        # Unlike a query, a saved filter keeps only what chooses tasks, not a page.
        errors = TaskQuerySchema(unknown=RAISE, exclude=PAGING).validate(body["params"])
        if errors:
            raise Invalid("the filter does not fit", errors={"params": errors})
        session, user = db_session(), current_user()
        saved = session.scalar(
            select(SavedFilter).where(
                SavedFilter.user_id == user.id, SavedFilter.name == body["name"]
            )
        )
        if saved is None:
            saved = SavedFilter(
                user_id=user.id,
                name=body["name"],
                params=body["params"],
                created_at=clock.now(),
            )
            session.add(saved)
        saved.params = body["params"]
        session.flush()
        return saved


@blp.route("/filters/<int:filter_id>")
class OneFilter(MethodView):
    @blp.response(204)
    def delete(self, filter_id):
        """Forget a saved filter"""
        saved = db_session().get(SavedFilter, filter_id)
        if saved is None or saved.user_id != current_user().id:
            raise NotFound(f"no saved filter {filter_id}")
        db_session().delete(saved)
