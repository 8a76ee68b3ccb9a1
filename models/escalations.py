"""Escalations raised on cases: reminders (level 1) up to supervision (level 3)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

LEVELS = {1: "reminder", 2: "suggestion", 3: "supervision"}


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_open_level", "closed_at", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    level: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(String(40), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("common_problems.id"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    case = relationship("Case", lazy="joined")
    group = relationship("CommonProblem", lazy="joined")


class CommonProblem(Base):
    """Late cases of one category close together in place and time (共性问题)."""

    __tablename__ = "common_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(String(40))
    department_code: Mapped[str | None] = mapped_column(String(40))
    lat: Mapped[float]
    lng: Mapped[float]
    suggestion: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
