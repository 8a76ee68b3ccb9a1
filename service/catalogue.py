"""The dispatch catalogue (派单目录): versioned routes from category and street to a
department, and the suggestion triage may accept in one action."""

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CatalogueEntry, CatalogueVersion, Category, Department
from service.reference_cache import reference
from workflows.clock import clock
from workflows.errors import Invalid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    category: str
    department: str | None
    catalogue_version: int | None


def current(session: Session) -> CatalogueVersion | None:
    return session.scalar(
        select(CatalogueVersion).order_by(CatalogueVersion.version.desc()).limit(1)
    )


def publish(
    session: Session, entries: list[dict], author: str, note: str | None = None
) -> CatalogueVersion:
    """Store the entries as the next version, after checking each one."""
    errors, seen = {}, set()
    categories = set(session.scalars(select(Category.code)))
    departments = set(session.scalars(select(Department.code)))
    for index, entry in enumerate(entries):
        problems = []
        if entry.get("category") not in categories:
            problems.append(f"unknown category {entry.get('category')!r}")
        if entry.get("department") not in departments:
            problems.append(f"unknown department {entry.get('department')!r}")
        key = (entry.get("category"), (entry.get("street") or "").strip() or None)
        if key in seen:
            problems.append("the same category and street appear twice")
        seen.add(key)
        if problems:
            errors[str(index)] = problems
    if errors:
        raise Invalid("the catalogue does not fit", errors={"entries": errors})

    number = (session.scalar(select(func.max(CatalogueVersion.version))) or 0) + 1
    version = CatalogueVersion(
        version=number, created_at=clock.now(), created_by=author, note=note
    )
    session.add(version)
    session.flush()
    for entry in entries:
        session.add(
            CatalogueEntry(
                version_id=version.id,
                category_code=entry["category"],
                street=(entry.get("street") or "").strip() or None,
                department_code=entry["department"],
            )
        )
    session.flush()
    session.expire(version, ["entries"])
    log.info(
        "dispatch catalogue published",
        extra={"version": number, "entries": len(entries)},
    )
    return version


def seed(session: Session) -> None:
    """Version 1 from each category's usual department, when there is none yet."""
    if current(session) is not None:
        return
    entries = [
        {"category": c.code, "department": c.department_code}
        for c in session.scalars(select(Category).order_by(Category.code))
        if c.department_code
    ]
    publish(session, entries, "system", "the shipped defaults")


def suggest(session: Session, category: str | None, street: str | None) -> Suggestion:
    """The department the catalogue routes this category (in this street) to."""
    if category is None:
        return Suggestion(category=None, department=None, catalogue_version=None)
    known = reference(session)
    matches = [route for route in known.routes if route.category == category]
    exact = [route for route in matches if street and route.street == street.strip()]
    general = [route for route in matches if route.street is None]
    chosen = (exact or general or [None])[0]
    if chosen is not None:
        return Suggestion(category, chosen.department, known.catalogue_version)
    return Suggestion(category, known.usual_departments.get(category), None)
