"""The deadline of each stage a case passes through, swept by its next check time."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class StageDeadline(Base):
    """One visit of a case to a stage (triage, handling, confirming) and its clock.

    `due_at` moves when the clock pauses and resumes or an extension is approved;
    `next_check_at` is when the sweep must look again (None once closed or paused).
    """

    __tablename__ = "stage_deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(String(40))
    limit: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    supervise_at: Mapped[datetime]
    paused_since: Mapped[datetime | None]
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    reminded_at: Mapped[datetime | None]
    supervised_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]

    case = relationship("Case", lazy="select")


class ExtensionRequest(Base):
    """A department asks for more time (延期); triage approves or refuses."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("stage_deadlines.id"))
    requested_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(2000))
    until: Mapped[datetime]
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None]
    approved: Mapped[bool | None]
    decision_note: Mapped[str | None] = mapped_column(String(2000))

    case = relationship("Case", lazy="joined")
