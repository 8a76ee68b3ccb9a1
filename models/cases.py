"""Cases (work orders), their photos and their timeline."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

STATUSES = (
    "triage",
    "handling",
    "confirming",
    "closed",
    "rejected",
    "merged",
    "transferred",
)
FINAL_STATUSES = ("closed", "rejected", "merged", "transferred")


class Case(Base):
    """A work order made from one report; `instance` is its engine state, spec-free."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("reporter_id", "idempotency_key"),
        Index("ix_cases_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    category_hint: Mapped[str | None] = mapped_column(String(40))
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    address: Mapped[str | None] = mapped_column(String(300))
    street: Mapped[str | None] = mapped_column(String(80), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    # What the keyed report carried (service.idempotency): a reuse is told apart.
    idempotency_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    return_count: Mapped[int] = mapped_column(default=0, server_default="0")
    duplicate_of: Mapped[str | None] = mapped_column(String(32))
    partner: Mapped[str | None] = mapped_column(String(40))
    partner_status: Mapped[str | None] = mapped_column(String(20))
    catalogue_version: Mapped[int | None]
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    instance: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=0)

    reporter = relationship("User", lazy="joined")
    # Loaded when read: most changes to a case never show its photos or timeline.
    photos = relationship("Photo", order_by="Photo.id", lazy="select")
    timeline = relationship("TimelineEvent", order_by="TimelineEvent.id", lazy="select")
    open_tasks = relationship(
        "HumanTaskRow",
        primaryjoin="and_(Case.id == HumanTaskRow.case_id, "
        "HumanTaskRow.closed_at.is_(None))",
        order_by="HumanTaskRow.id",
        viewonly=True,
        lazy="select",
    )

    @property
    def reporter_name(self) -> str:
        return self.reporter.name


class Photo(Base):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(300))
    thumbnail_path: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    taken_lat: Mapped[float | None]
    taken_lng: Mapped[float | None]
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]


class TimelineEvent(Base):
    """One step of a case: who did what, when, with which photos (全链条见人见事)."""

    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
