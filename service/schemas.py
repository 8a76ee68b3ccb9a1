"""Marshmallow schemas of the public contract: what goes in and what comes out."""

from datetime import UTC, date, datetime

from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from marshmallow.utils import get_value

from models.base import MAX_ROW_ID
from models.cases import STATUSES
from service.i18n import ZONE
from workflows.clock import clock

# Deep enough for any list a person pages through, short of offsets SQL cannot hold.
MAX_PAGE = 1_000_000
# The days and moments a district's cases can have: far enough either way for any
# report, deadline or period, and well inside what dates, zones and the database hold.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
IN_CALENDAR = validate.Range(FIRST_DAY, LAST_DAY, error="a day from {min} to {max}")
IN_TIME = validate.Range(
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2100, 1, 1, tzinfo=UTC),
    max_inclusive=False,
    error="a moment in the years 2000 to 2099",
)
# A number that names a row (a version, say): positive, within the id columns.
ROW_NUMBER = validate.Range(min=1, max=MAX_ROW_ID)


class DepartmentSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_zh = fields.String()


class LimitsSchema(Schema):
    """Each limit in hours, counted as its unit says: plain or working time."""

    triage_hours = fields.Float()
    handling_hours = fields.Float()
    confirm_hours = fields.Float()
    triage_unit = fields.String()
    handling_unit = fields.String()
    confirm_unit = fields.String()


class CategorySchema(Schema):
    code = fields.String()
    name = fields.String()
    name_zh = fields.String()
    department = fields.String(attribute="department_code", allow_none=True)
    limits = fields.Method("_limits")

    def _limits(self, category):
        return LimitsSchema().dump(category)


class PhotoSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    url = fields.Method("_url")
    thumbnail_url = fields.Method("_thumbnail_url")
    width = fields.Integer()
    height = fields.Integer()

    def _url(self, photo):
        return url_for("photos.PhotoFile", photo_id=get_value(photo, "id"))

    def _thumbnail_url(self, photo):
        return url_for("photos.Thumbnail", photo_id=get_value(photo, "id"))


class TimelineEventSchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    note = fields.String(allow_none=True)
    photo_ids = fields.List(fields.Integer())
    details = fields.Dict()


class TaskSchema(Schema):
    id = fields.Integer()
    case_number = fields.Method("_case_number")
    name = fields.String()
    title = fields.String()
    lane = fields.String(allow_none=True)
    department = fields.String(attribute="department_code", allow_none=True)
    assignee = fields.String(attribute="assignee_name", allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Method("_overdue")

    def _case_number(self, task):
        return task.case.number

    def _overdue(self, task):
        return task.due_at is not None and task.due_at < clock.now()


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    next = fields.String(allow_none=True)


class LocationSchema(Schema):
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    address = fields.String(allow_none=True)


LOCATION = LocationSchema()


class CaseSummarySchema(Schema):
    number = fields.String()
    status = fields.String()
    category = fields.String(attribute="category_code", allow_none=True)
    department = fields.String(attribute="department_code", allow_none=True)
    description = fields.String()
    location = fields.Method("_location")
    reporter = fields.String(attribute="reporter_name")
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    escalation_level = fields.Integer()
    duplicate_of = fields.String(allow_none=True)
    partner = fields.String(allow_none=True)
    partner_status = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    return_count = fields.Integer()

    def _location(self, case):
        return LOCATION.dump(case)


class DeadlineSchema(Schema):
    stage = fields.String()
    limit = fields.String()
    started_at = fields.DateTime()
    due_at = fields.DateTime()
    used_hours = fields.Float()
    left_hours = fields.Float()
    paused = fields.Boolean()


class CaseSchema(CaseSummarySchema):
    photos = fields.List(fields.Nested(PhotoSchema))
    timeline = fields.List(fields.Nested(TimelineEventSchema))
    open_tasks = fields.List(fields.Nested(TaskSchema))
    deadline = fields.Nested(
        DeadlineSchema,
        allow_none=True,
        metadata={"description": "the current stage: due, time used and left (hours)"},
    )


class CaseListSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class CaseQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String()
    department = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class LatLng(fields.Field):
    """A point written 'lat,lng'."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            lat, lng = (float(part) for part in str(value).split(","))
        except ValueError as error:
            raise ValidationError("write the point as 'lat,lng'") from error
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValidationError("not a point on the earth")
        return [lat, lng]


class TaskQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    queue = fields.String(
        load_default="available",
        validate=validate.OneOf(["mine", "available", "department", "all"]),
    )
    sort = fields.String(
        load_default="due", validate=validate.OneOf(["due", "priority", "age"])
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = fields.String(metadata={"description": "the `next` of the previous page"})
    category = fields.String()
    department = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    overdue = fields.Boolean()
    due_before = fields.AwareDateTime(
        default_timezone=ZONE,
        validate=IN_TIME,
        metadata={"description": "without an offset, read on the district's clock"},
    )
    street = fields.String()
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "text in the description, address or case number"},
    )
    near = LatLng(metadata={"description": "'lat,lng': only tasks near this point"})
    within_m = fields.Float(
        load_default=1000.0, validate=validate.Range(min=1, max=100_000)
    )


class QueueCountsSchema(Schema):
    mine = fields.Integer()
    available = fields.Integer()
    department = fields.Integer()
    all = fields.Integer()
    overdue = fields.Integer()


class SuggestionSchema(Schema):
    category = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    catalogue_version = fields.Integer(allow_none=True)


class TaskDetailSchema(Schema):
    task = fields.Nested(TaskSchema)
    form = fields.Dict()
    choices = fields.Dict()
    draft = fields.Dict(allow_none=True)
    suggestion = fields.Nested(SuggestionSchema, allow_none=True)
    can_work = fields.Boolean()


class AssignSchema(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=80))


class DraftSchema(Schema):
    """What a form holds so far; nothing is required until completion."""

    class Meta:
        unknown = EXCLUDE

    decision = fields.String(validate=validate.Length(max=40))
    category = fields.String(validate=validate.Length(max=40))
    department = fields.String(validate=validate.Length(max=40))
    note = fields.String(validate=validate.Length(max=4000))
    reason = fields.String(validate=validate.Length(max=4000))
    duplicate_of = fields.String(validate=validate.Length(max=32))
    partner = fields.String(validate=validate.Length(max=40))
    result = fields.String(validate=validate.Length(max=4000))


class SavedFilterSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    params = fields.Dict(required=True)
    created_at = fields.DateTime(dump_only=True)


class ReportFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    description = fields.String(
        required=True,
        validate=[
            validate.Length(max=4000),
            validate.Regexp(r"(?s)\s*\S", error="describe the problem in words"),
        ],
    )
    lat = fields.Float(validate=validate.Range(min=-90, max=90), allow_nan=False)
    lng = fields.Float(validate=validate.Range(min=-180, max=180), allow_nan=False)
    address = fields.String(validate=validate.Length(max=300))
    street = fields.String(validate=validate.Length(max=80))
    category = fields.String(validate=validate.Length(max=40))


class PhotoUploadSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    photos = fields.List(Upload())


class CompletionSchema(Schema):
    """Every field any decision takes; which are required depends on the decision."""

    class Meta:
        unknown = EXCLUDE

    decision = fields.String(required=True)
    category = fields.String()
    department = fields.String()
    note = fields.String(validate=validate.Length(max=4000))
    reason = fields.String(validate=validate.Length(max=4000))
    duplicate_of = fields.String()
    partner = fields.String()
    result = fields.String(validate=validate.Length(max=4000))


class EscalationSchema(Schema):
    id = fields.Integer()
    case_number = fields.Method("_case_number")
    level = fields.Integer()
    stage = fields.String()
    department = fields.String(attribute="department_code", allow_none=True)
    common_problem = fields.Integer(attribute="group_id", allow_none=True)
    reason = fields.String()
    raised_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)

    def _case_number(self, escalation):
        return escalation.case.number


class EscalationQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    open = fields.Boolean()
    level = fields.Integer(validate=validate.OneOf([1, 2, 3]))


class DefinitionVersionSchema(Schema):
    process_id = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()


class ClockSchema(Schema):
    # Up to ten years at a time, so that the moved clock stays a date.
    advance_seconds = fields.Float(
        required=True, validate=validate.Range(min=0, max=10 * 366 * 86400)
    )


class ClockStateSchema(Schema):
    now = fields.DateTime()
    cases_advanced = fields.Integer()


class SupervisionSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ExtensionRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    until = fields.AwareDateTime(required=True, default_timezone=None, validate=IN_TIME)


class ExtensionDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(validate=validate.Length(max=2000))


class ExtensionSchema(Schema):
    id = fields.Integer()
    case_number = fields.Method("_case_number")
    requested_by = fields.String()
    reason = fields.String()
    until = fields.DateTime()
    requested_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    approved = fields.Boolean(allow_none=True)
    decision_note = fields.String(allow_none=True)

    def _case_number(self, request):
        return request.case.number


class ExtensionQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    pending = fields.Boolean()


class CatalogueEntrySchema(Schema):
    category = fields.String(attribute="category_code", required=True)
    street = fields.String(allow_none=True, load_default=None)
    department = fields.String(attribute="department_code", required=True)


class CatalogueVersionSchema(Schema):
    version = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String()
    note = fields.String(allow_none=True)


class CatalogueSchema(CatalogueVersionSchema):
    entries = fields.List(fields.Nested(CatalogueEntrySchema))


class CatalogueEditSchema(Schema):
    entries = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(max=2000),
        metadata={"description": "each {category, street (optional), department}"},
    )
    note = fields.String(validate=validate.Length(max=500))


class LimitEditSchema(Schema):
    """Limits as '4 working_hours', '5 working_days' or '2 hours', per stage."""

    triage = fields.String()
    handling = fields.String()
    confirming = fields.String()


class CategoryEditSchema(Schema):
    limits = fields.Nested(LimitEditSchema)
    department = fields.String(allow_none=True)


class CalendarDaySchema(Schema):
    day = fields.Date(dump_only=True)
    workday = fields.Boolean(required=True)
    note = fields.String(validate=validate.Length(max=200), allow_none=True)
