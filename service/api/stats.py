"""What supervisors see, as JSON: the figures of a period, the board, the open cases."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from service.api import db_session
from service.auth import require_role
from service.board import LEVEL_NAMES, load_board, open_cases
from service.schemas import IN_CALENDAR
from service.stats import DEFAULT_DAYS, DEFAULT_QUICK_HOURS, GROUPINGS, Period, compute

blp = Blueprint(
    "stats",
    __name__,
    url_prefix="/api/v1",
    description="Supervision: figures, the escalation board and the open cases",
)


class PeriodQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    first = fields.Date(
        data_key="from",
        validate=IN_CALENDAR,
        metadata={"description": f"first day [default: {DEFAULT_DAYS} days to `to`]"},
    )
    last = fields.Date(
        data_key="to",
        validate=IN_CALENDAR,
        metadata={"description": "last day [today]"},
    )
    quick_hours = fields.Float(
        load_default=DEFAULT_QUICK_HOURS,
        validate=validate.Range(min=0, min_inclusive=False, max=24 * 366),
        metadata={"description": "'fixed at once' means closed within these hours"},
    )


class StatsQuerySchema(PeriodQuerySchema):
    by = fields.String(load_default="department", validate=validate.OneOf(GROUPINGS))


class StageTimeSchema(Schema):
    count = fields.Integer()
    mean_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)


class FiguresSchema(Schema):
    key = fields.String(allow_none=True)
    label = fields.String()
    received = fields.Integer()
    closed = fields.Integer()
    due = fields.Integer(metadata={"description": "due to close, deferred included"})
    deferred = fields.Integer()
    on_time = fields.Integer()
    fixed_quickly = fields.Integer()
    handled = fields.Integer()
    disputed = fields.Integer()
    confirmed = fields.Integer()
    returns = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)
    closure_rate = fields.Float(allow_none=True)
    quick_rate = fields.Float(allow_none=True)
    rework_rate = fields.Float(allow_none=True)
    satisfaction = fields.Float(allow_none=True)
    stages = fields.Dict(keys=fields.String(), values=fields.Nested(StageTimeSchema))


class PeriodSchema(Schema):
    first = fields.Date(data_key="from")
    last = fields.Date(data_key="to")
    days = fields.Integer()


class StatsSchema(Schema):
    period = fields.Nested(PeriodSchema)
    by = fields.String()
    quick_hours = fields.Float()
    generated_at = fields.DateTime()
    totals = fields.Nested(FiguresSchema)
    groups = fields.List(fields.Nested(FiguresSchema))


class BoardEntrySchema(Schema):
    case_number = fields.String()
    category = fields.String(allow_none=True)
    stage = fields.String()
    reason = fields.String()
    raised_at = fields.DateTime()
    common_problem = fields.Integer(allow_none=True)


class BoardDepartmentSchema(Schema):
    department = fields.String(allow_none=True)
    label = fields.String()
    escalations = fields.List(fields.Nested(BoardEntrySchema))


class BoardLevelSchema(Schema):
    level = fields.Integer()
    name = fields.String()
    departments = fields.List(fields.Nested(BoardDepartmentSchema))


class CommonProblemSchema(Schema):
    id = fields.Integer()
    category = fields.String()
    department = fields.String(allow_none=True)
    lat = fields.Float()
    lng = fields.Float()
    suggestion = fields.String()
    opened_at = fields.DateTime()
    cases = fields.List(fields.String())


class BoardSchema(Schema):
    levels = fields.List(fields.Nested(BoardLevelSchema))
    common_problems = fields.List(fields.Nested(CommonProblemSchema))


class OpenCaseSchema(Schema):
    number = fields.String()
    status = fields.String()
    category = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    escalation_level = fields.Integer()
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    address = fields.String(allow_none=True)
    street = fields.String(allow_none=True)


class OpenCaseListSchema(Schema):
    items = fields.List(fields.Nested(OpenCaseSchema))


def period_of(query: dict, days: int = DEFAULT_DAYS) -> Period:
    return Period.ending(query.get("last"), days, query.get("first"))


def board_view(board) -> dict:
    """The board grouped by level, highest first, then by department."""
    levels = []
    for level, departments in board.by_level():
        levels.append(
            {
                "level": level,
                "name": LEVEL_NAMES.get(level, str(level)),
                "departments": [
                    {
                        "department": entries[0].department,
                        "label": label,
                        "escalations": entries,
                    }
                    for label, entries in departments
                ],
            }
        )
    return {"levels": levels, "common_problems": board.problems}


@blp.route("/stats")
class Stats(MethodView):
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, StatsSchema)
    def get(self, query):
        """Figures of the cases received in a period, by department, category or street

        Every figure is about the cases reported from `from` to `to` (whole days in
        the district's time zone), as they stand now. On time (按期) means every
        triage and handling deadline met, an approved extension moving it.
        """
        require_role("supervisor")
        return compute(
            db_session(), period_of(query), query["by"], query["quick_hours"]
        )


@blp.route("/board")
class EscalationBoard(MethodView):
    @blp.response(200, BoardSchema)
    def get(self):
        """Open escalations by level and department, with the open common problems"""
        require_role("supervisor")
        return board_view(load_board(db_session()))


@blp.route("/open-cases")
class OpenCases(MethodView):
    @blp.response(200, OpenCaseListSchema)
    def get(self):
        """Every case not yet finished, most escalated first, with its place"""
        require_role("supervisor")
        return {"items": open_cases(db_session())}
