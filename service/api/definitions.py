"""Deployed process definitions and their versions."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import ProcessVersion
from service.api import db_session
from service.auth import require_role
from service.schemas import DefinitionVersionSchema

blp = Blueprint(
    "definitions", __name__, url_prefix="/api/v1", description="BPMN definitions"
)


@blp.route("/definitions")
class Definitions(MethodView):
    @blp.response(200, DefinitionVersionSchema(many=True))
    def get(self):
        """Every deployed version of every process"""
        require_role("designer", "supervisor")
        return (
            db_session()
            .scalars(
                select(ProcessVersion).order_by(
                    ProcessVersion.process_id, ProcessVersion.version
                )
            )
            .all()
        )
