"""Reference data: departments, categories with their time limits, calendar days."""

import re
from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import CalendarDay, Category, Department
from service.api import db_session, extension
from service.auth import current_user, require_role
from service.calendar import WorkingCalendar
from service.policy import StageLimit
from service.schemas import (
    FIRST_DAY,
    LAST_DAY,
    CalendarDaySchema,
    CategoryEditSchema,
    CategorySchema,
    DepartmentSchema,
)
from workflows.errors import Invalid, NotFound

DAY_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The stages of a limit, and the columns that keep each one.
LIMIT_COLUMNS = {
    "triage": ("triage_hours", "triage_unit"),
    "handling": ("handling_hours", "handling_unit"),
    "confirming": ("confirm_hours", "confirm_unit"),
}

blp = Blueprint(
    "reference",
    __name__,
    url_prefix="/api/v1",
    description="Departments and categories",
)


@blp.route("/departments")
class Departments(MethodView):
    @blp.response(200, DepartmentSchema(many=True))
    def get(self):
        """The departments that handle cases"""
        return db_session().scalars(select(Department).order_by(Department.code)).all()


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """The categories of problems, each with its department and time limits"""
        return db_session().scalars(select(Category).order_by(Category.code)).all()


@blp.route("/categories/<string:code>")
class OneCategory(MethodView):
    @blp.arguments(CategoryEditSchema)
    @blp.response(200, CategorySchema)
    def patch(self, body, code):
        """Change a category's limits or usual department (admins)"""
        require_role("admin")
        session = db_session()
        category = session.get(Category, code)
        if category is None:
            raise NotFound(f"no category {code!r}")
        for stage, text in (body.get("limits") or {}).items():
            limit = StageLimit.parse(text)
            hours = limit.amount
            if limit.unit == "working_days":
                hours *= _calendar().hours_per_day
            hours_column, unit_column = LIMIT_COLUMNS[stage]
            setattr(category, hours_column, hours)
            setattr(category, unit_column, limit.unit)
        if "department" in body:
            department = body["department"]
            if department is not None and session.get(Department, department) is None:
                raise Invalid(
                    f"unknown department {department!r}",
                    errors={"department": ["unknown department"]},
                )
            category.department_code = department
        return category


@blp.route("/calendar/days")
class CalendarDays(MethodView):
    @blp.response(200, CalendarDaySchema(many=True))
    def get(self):
        """Local days off and working days that override the official calendar"""
        return db_session().scalars(select(CalendarDay).order_by(CalendarDay.day)).all()


@blp.route("/calendar/days/<string:day>")
class OneCalendarDay(MethodView):
    @blp.arguments(CalendarDaySchema)
    @blp.response(200, CalendarDaySchema)
    def put(self, body, day):
        """Mark a day as worked or off (admins), e.g. a typhoon day; deadlines set
        from now on count with it"""
        require_role("admin")
        when = _day(day)
        session = db_session()
        row = session.get(CalendarDay, when) or CalendarDay(day=when, workday=True)
        row.workday = body["workday"]
        row.note = body.get("note") or f"set by {current_user().name}"
        session.add(row)
        session.flush()
        return row

    @blp.response(204)
    def delete(self, day):
        """Forget a local day: the official calendar applies again"""
        require_role("admin")
        row = db_session().get(CalendarDay, _day(day))
        if row is None:
            raise NotFound(f"no local calendar day {day}")
        db_session().delete(row)


def _day(text: str) -> date:
    """A day in the path, written YYYY-MM-DD and inside the calendar cases use."""
    try:
        day = date.fromisoformat(text) if DAY_FORMAT.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise Invalid(f"not a date: {text!r}", errors={"day": ["YYYY-MM-DD"]})
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(
            f"{day} is outside the calendar",
            errors={"day": [f"a day from {FIRST_DAY} to {LAST_DAY}"]},
        )
    return day


def _calendar() -> WorkingCalendar:
    settings = extension("settings")
    return WorkingCalendar(
        day_start=settings.workday_start, day_end=settings.workday_end
    )
