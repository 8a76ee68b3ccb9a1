"""Partner platforms report progress on the cases transferred to them."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from service.api import db_session, extension, summary
from service.auth import current_user
from service.partners import PARTNER_STATUSES
from service.schemas import CaseSummarySchema

blp = Blueprint(
    "partners",
    __name__,
    url_prefix="/api/v1/partners",
    description="Partner platforms (12345 hotline, shared-bike platform)",
)


class PartnerUpdateSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(PARTNER_STATUSES))
    note = fields.String(validate=validate.Length(max=4000))


@blp.route("/cases/<string:number>/updates")
class Updates(MethodView):
    @blp.arguments(PartnerUpdateSchema)
    @blp.response(200, CaseSummarySchema)
    def post(self, body, number):
        """A partner's progress on a case it was given, onto the case's timeline"""
        file = extension("partner_updates").report(
            db_session(), current_user(), number, body["status"], body.get("note")
        )
        return summary(file)
