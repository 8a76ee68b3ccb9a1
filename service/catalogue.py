"""The dispatch catalogue (派单目录): versioned routes from category and street to a
department, and the suggestion triage may accept in one action."""

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import CatalogueEntry, CatalogueVersion, Category, Department
from service.reference_cache import reference
from workflows.clock import clock
from workflows.errors import Conflict, Invalid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    category: str
    department: str | None
    catalogue_version: int | None


# As long as a report's street may be.
MAX_STREET = 80


def street_of(text: str | None) -> str | None:
    """A street as people type it, without the spaces around it; None if blank."""
    return (text or "").strip() or None


def same_street(one: str | None, other: str | None) -> bool:
    """Streets match whatever the case they were typed in."""
    return bool(one and other) and one.lower() == other.lower()


def _shape_problems(entry) -> list[str]:
    if not isinstance(entry, dict):
        return ["each entry is {category, street (optional), department}"]
    problems = [
        f"{name} must be text"
        for name in ("category", "department", "street")
        if entry.get(name) is not None and not isinstance(entry[name], str)
    ]
    street = entry.get("street")
    if not problems and street and len(street.strip()) > MAX_STREET:
        problems.append(f"a street has at most {MAX_STREET} characters")
    return problems


def _routes(entries: list[dict]) -> set[tuple]:
    return {
        (e["category"], street_of(e.get("street")), e["department"]) for e in entries
    }


def current(session: Session) -> CatalogueVersion | None:
    return session.scalar(
        select(CatalogueVersion).order_by(CatalogueVersion.version.desc()).limit(1)
    )


@dataclass(frozen=True)
class Publication:
    """The version in force after a publish, and whether the publish made it."""

    version: CatalogueVersion
    is_new: bool


def publish(
    session: Session, entries: list[dict], author: str, note: str | None = None
) -> Publication:
    """Store the entries as the next version, after checking each one.

    Entries that route exactly as the version in force publish nothing.
    """
    errors, seen = {}, set()
    categories = set(session.scalars(select(Category.code)))
    departments = set(session.scalars(select(Department.code)))
    for index, entry in enumerate(entries):
        problems = _shape_problems(entry)
        if problems:
            errors[str(index)] = problems
            continue
        if entry.get("category") not in categories:
            problems.append(f"unknown category {entry.get('category')!r}")
        if entry.get("department") not in departments:
            problems.append(f"unknown department {entry.get('department')!r}")
        street = street_of(entry.get("street"))
        key = (entry.get("category"), street and street.lower())
        if key in seen:
            problems.append("the same category and street appear twice")
        seen.add(key)
        if problems:
            errors[str(index)] = problems
    if errors:
        raise Invalid("the catalogue does not fit", errors={"entries": errors})

    in_force = current(session)
    if in_force is not None and _routes(entries) == {
        (e.category_code, e.street, e.department_code) for e in in_force.entries
    }:
        return Publication(in_force, is_new=False)

    number = (session.scalar(select(func.max(CatalogueVersion.version))) or 0) + 1
    version = CatalogueVersion(
        version=number, created_at=clock.now(), created_by=author, note=note
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError as error:
        raise Conflict(
            f"catalogue version {number} was published by someone else at the "
            "same moment: publish again"
        ) from error
    for entry in entries:
        session.add(
            CatalogueEntry(
                version_id=version.id,
                category_code=entry["category"],
                street=street_of(entry.get("street")),
                department_code=entry["department"],
            )
        )
    session.flush()
    session.expire(version, ["entries"])
    log.info(
        "dispatch catalogue published",
        extra={"version": number, "entries": len(entries)},
    )
    return Publication(version, is_new=True)


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
    street = street_of(street)
    exact = [route for route in matches if street and same_street(route.street, street)]
    general = [route for route in matches if route.street is None]
    chosen = (exact or general or [None])[0]
    if chosen is not None:
        return Suggestion(category, chosen.department, known.catalogue_version)
    return Suggestion(category, known.usual_departments.get(category), None)
