"""POST /api/v1/reports: a deputy's photo report becomes a case."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from service.api import answer, db_session, extension
from service.api.uploads import uploaded_photos
from service.auth import current_user
from service.casework import Report
from service.schemas import CaseSchema, PhotoUploadSchema, ReportFormSchema
from workflows.errors import Invalid, SuishoupaiError

blp = Blueprint(
    "reports", __name__, url_prefix="/api/v1", description="Photo reports from deputies"
)


@blp.before_request
def require_multipart():
    """Photos come as files: a report in any other form is refused by name first."""
    if request.method == "POST" and request.mimetype != "multipart/form-data":
        raise Invalid(
            "send the report as multipart/form-data with its photos as files",
            errors={"photos": ["upload photos as multipart files"]},
        )


class ReportForm(ReportFormSchema):
    """The report's fields; when they do not fit, a bad photo is named beside them."""

    def handle_error(self, error, data, **kwargs):
        try:
            extension("casework").intake.check(uploaded_photos(), required=1)
        except Invalid as refusal:
            error.messages.update(refusal.errors or {})
        except SuishoupaiError:
            pass  # too large, say: the fields' errors answer first


@blp.route("/reports")
class Reports(MethodView):
    @blp.arguments(ReportForm, location="form")
    @blp.arguments(PhotoUploadSchema, location="files", as_kwargs=True)
    @blp.response(201, CaseSchema)
    def post(self, form, photos=None):
        """Submit a report with 1 to 9 photos; answers with the new case"""
        report = Report(
            description=form["description"],
            photos=uploaded_photos(),
            lat=form.get("lat"),
            lng=form.get("lng"),
            address=form.get("address"),
            street=form.get("street"),
            category=form.get("category"),
        )
        if (report.lat is None) != (report.lng is None):
            raise Invalid(
                "give both lat and lng, or neither",
                errors={
                    "lat": ["give both or neither"],
                    "lng": ["give both or neither"],
                },
            )
        key = request.headers.get("Idempotency-Key") or None
        file = extension("casework").submit_report(
            db_session(), current_user(), report, idempotency_key=key
        )
        return answer(file)
