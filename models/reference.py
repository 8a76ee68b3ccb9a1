"""Reference data: the departments that handle cases and the categories of problems."""

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))


class Category(Base):
    """A kind of problem, the department that usually handles it, its time limits."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    # Each limit is an amount in its unit: hours, working_hours or working_days.
    triage_hours: Mapped[float]
    handling_hours: Mapped[float]
    confirm_hours: Mapped[float]
    triage_unit: Mapped[str] = mapped_column(String(20), server_default="working_hours")
    handling_unit: Mapped[str] = mapped_column(
        String(20), server_default="working_hours"
    )
    confirm_unit: Mapped[str] = mapped_column(String(20), server_default="hours")


class CalendarDay(Base):
    """A local addition to the official calendar: a working day or a day off."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(200))


class ReferenceRevision(Base):
    """One counter, moved by every change to the reference data.

    Processes keep what they read of categories, departments, calendar days, the
    catalogue and deployed versions until this number moves.
    """

    __tablename__ = "reference_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
