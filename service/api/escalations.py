"""Escalations: reminders, suggestions and supervision raised on cases."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import Case, Escalation
from service.api import db_session
from service.api.cases import visible_cases
from service.auth import current_user
from service.schemas import EscalationQuerySchema, EscalationSchema

blp = Blueprint(
    "escalations", __name__, url_prefix="/api/v1", description="The escalation ladder"
)


@blp.route("/escalations")
class Escalations(MethodView):
    @blp.arguments(EscalationQuerySchema, location="query")
    @blp.response(200, EscalationSchema(many=True))
    def get(self, query):
        """Escalations on the cases the caller may see, newest first"""
        cases = visible_cases(current_user()).with_only_columns(Case.id)
        escalations = select(Escalation).where(Escalation.case_id.in_(cases))
        if "open" in query:
            escalations = escalations.where(
                Escalation.closed_at.is_(None)
                if query["open"]
                else Escalation.closed_at.is_not(None)
            )
        if "level" in query:
            escalations = escalations.where(Escalation.level == query["level"])
        return (
            db_session()
            .scalars(
                escalations.order_by(Escalation.raised_at.desc(), Escalation.id.desc())
            )
            .all()
        )
