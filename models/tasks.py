"""Indexes of each case's human tasks and pending timers, kept beside its instance."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

OPEN = text("closed_at IS NULL")


class HumanTaskRow(Base):
    """A user task of a case; `closed_at` is set when the engine moves past it."""

    __tablename__ = "human_tasks"
    # Queues read only open tasks, so their indexes hold only open tasks.
    __table_args__ = (
        Index(
            "ix_human_tasks_open_by_lane",
            "lane",
            "department_code",
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        ),
        # In queue order: a page reads the first rows it needs and stops.
        Index(
            "ix_human_tasks_open_by_due",
            "due_at",
            "id",
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    engine_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(40))
    department_code: Mapped[str | None] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    draft: Mapped[dict | None] = mapped_column(JSON)
    # Named people who may work it, as ",name,name," (camunda:candidateUsers).
    candidate_users: Mapped[str | None] = mapped_column(String(500))

    # A task is read with its case already in the session, or joined by the queue.
    case = relationship("Case", lazy="select")
    assignee = relationship("User", lazy="joined")

    @property
    def assignee_name(self) -> str | None:
        return self.assignee.name if self.assignee else None


class PendingTimerRow(Base):
    """A timer waiting in a case's instance, indexed by when it is due."""

    __tablename__ = "pending_timers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    engine_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime] = mapped_column(index=True)
