"""Extension requests (延期): asked on a handling task, decided by triage."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import Case, ExtensionRequest
from service.api import db_session, extension
from service.api.cases import visible_cases
from service.auth import current_user
from service.schemas import (
    ExtensionDecisionSchema,
    ExtensionQuerySchema,
    ExtensionRequestSchema,
    ExtensionSchema,
)

blp = Blueprint(
    "extensions",
    __name__,
    url_prefix="/api/v1",
    description="Extension requests (延期)",
)


@blp.route("/tasks/<int:task_id>/extension")
class AskForTime(MethodView):
    @blp.arguments(ExtensionRequestSchema)
    @blp.response(201, ExtensionSchema)
    def post(self, body, task_id):
        """Ask for more time on a handling task; its clock stops until decided"""
        return extension("extension_requests").request(
            db_session(), current_user(), task_id, body["reason"], body["until"]
        )


@blp.route("/extensions")
class Extensions(MethodView):
    @blp.arguments(ExtensionQuerySchema, location="query")
    @blp.response(200, ExtensionSchema(many=True))
    def get(self, query):
        """Extension requests on the cases the caller may see, newest first"""
        cases = visible_cases(current_user()).with_only_columns(Case.id)
        requests = select(ExtensionRequest).where(ExtensionRequest.case_id.in_(cases))
        if "pending" in query:
            requests = requests.where(
                ExtensionRequest.decided_at.is_(None)
                if query["pending"]
                else ExtensionRequest.decided_at.is_not(None)
            )
        return db_session().scalars(requests.order_by(ExtensionRequest.id.desc())).all()


@blp.route("/extensions/<int:request_id>/decision")
class Decide(MethodView):
    @blp.arguments(ExtensionDecisionSchema)
    @blp.response(200, ExtensionSchema)
    def post(self, body, request_id):
        """Approve (the deadline moves to the date asked) or refuse"""
        return extension("extension_requests").decide(
            db_session(), current_user(), request_id, body["approve"], body.get("note")
        )
