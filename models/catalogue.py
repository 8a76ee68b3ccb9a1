"""The dispatch catalogue (派单目录): which department handles which category, where."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class CatalogueVersion(Base):
    """One edit of the catalogue; cases record the version that routed them."""

    __tablename__ = "catalogue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(500))

    entries = relationship(
        "CatalogueEntry", order_by="CatalogueEntry.id", lazy="selectin"
    )


class CatalogueEntry(Base):
    """A category, optionally in one street or area, and the department for it."""

    __tablename__ = "catalogue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_versions.id"), index=True
    )
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    street: Mapped[str | None] = mapped_column(String(80))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
