"""Reference data: the departments that handle cases and the categories of problems."""

from sqlalchemy import ForeignKey, String
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
    triage_hours: Mapped[float]
    handling_hours: Mapped[float]
    confirm_hours: Mapped[float]

    def limit_hours(self, stage: str) -> float:
        return {
            "triage": self.triage_hours,
            "handle": self.handling_hours,
            "confirm": self.confirm_hours,
        }[stage]
