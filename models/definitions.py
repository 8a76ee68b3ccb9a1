"""Deployed versions of BPMN processes, each spec stored once."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Large and read once per process (the registry keeps the parsed spec).
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    files: Mapped[dict] = mapped_column(JSON, deferred=True)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(80))


class CaseMigration(Base):
    """One case moved to another version, with its instance as it was, for revert."""

    __tablename__ = "case_migrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(36), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    previous_instance: Mapped[str] = mapped_column(Text)
    revision_after: Mapped[int]
    migrated_at: Mapped[datetime]
    migrated_by: Mapped[str] = mapped_column(String(80))
    reverted_at: Mapped[datetime | None]
    reverted_by: Mapped[str | None] = mapped_column(String(80))
