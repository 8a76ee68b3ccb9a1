"""People who use the service and the token each one calls the API with."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

ROLES = ("reporter", "triage", "handler", "supervisor", "designer", "admin", "partner")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), default=None
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # For a partner platform's account: which platform it speaks for.
    partner_code: Mapped[str | None] = mapped_column(String(40))
