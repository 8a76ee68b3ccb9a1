"""Reference data as every case step reads it, kept per process until it changes.

Categories, departments, local calendar days, the dispatch catalogue and deployed
process versions change rarely and are read by nearly every step of every case.
Each change to them moves the reference revision in the same transaction; a step
reads that one number, and the tables only when it has moved.
"""

import threading
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from models import (
    CalendarDay,
    CatalogueEntry,
    CatalogueVersion,
    Category,
    Department,
    ProcessVersion,
    ReferenceRevision,
)
from service.calendar import WorkingCalendar
from service.policy import GroupingRule, Policy
from service.settings import Settings

REFERENCE_TABLES = (
    CalendarDay,
    CatalogueEntry,
    CatalogueVersion,
    Category,
    Department,
    ProcessVersion,
)
LIMIT_COLUMNS = (
    Category.code,
    Category.triage_hours,
    Category.triage_unit,
    Category.handling_hours,
    Category.handling_unit,
    Category.confirm_hours,
    Category.confirm_unit,
)
_IN_SESSION = "suishoupai.reference"
_CHANGED = "suishoupai.reference_changed"
CACHE_KEY = "suishoupai.reference_cache"


@dataclass(frozen=True)
class Route:
    """Where the dispatch catalogue sends a category, optionally in one street."""

    category: str
    street: str | None
    department: str


@dataclass(frozen=True)
class Reference:
    """What the reference tables held at one revision."""

    revision: int | None
    limits: tuple  # rows of LIMIT_COLUMNS
    usual_departments: dict[str, str | None]  # category -> its usual department
    departments: frozenset[str]
    local_days: dict[date, bool]
    catalogue_version: int | None
    routes: tuple[Route, ...]
    newest_versions: dict[str, int]  # process id -> id of its newest version
    _derived: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def read(cls, session: Session, revision: int | None) -> "Reference":
        categories = session.execute(
            select(Category.code, Category.department_code)
        ).all()
        catalogue = session.scalar(
            select(CatalogueVersion).order_by(CatalogueVersion.version.desc()).limit(1)
        )
        # In version order, so the newest version of each process is the last.
        versions = session.execute(
            select(ProcessVersion.process_id, ProcessVersion.id).order_by(
                ProcessVersion.version
            )
        ).all()
        return cls(
            revision=revision,
            limits=tuple(session.execute(select(*LIMIT_COLUMNS)).all()),
            usual_departments=dict(categories),
            departments=frozenset(session.scalars(select(Department.code))),
            local_days=dict(
                session.execute(select(CalendarDay.day, CalendarDay.workday)).all()
            ),
            catalogue_version=catalogue.version if catalogue else None,
            routes=tuple(
                Route(e.category_code, e.street, e.department_code)
                for e in (catalogue.entries if catalogue else ())
            ),
            newest_versions=dict(versions),
        )

    def calendar(self, settings: Settings) -> WorkingCalendar:
        return self._derive(
            ("calendar", settings.workday_start, settings.workday_end),
            lambda: WorkingCalendar(
                day_start=settings.workday_start,
                day_end=settings.workday_end,
                local_days=self.local_days,
            ),
        )

    def policy(self, settings: Settings) -> Policy:
        grouping = GroupingRule(
            settings.common_problem_radius_m,
            settings.common_problem_window_hours,
            settings.common_problem_min_cases,
        )
        ladder = (settings.supervision_factor, settings.supervision_on_return)
        return self._derive(
            ("policy", grouping, ladder),
            lambda: Policy.from_categories(
                self.limits,
                supervision_factor=settings.supervision_factor,
                supervision_on_return=settings.supervision_on_return,
                grouping=grouping,
            ),
        )

    def _derive(self, key, build):
        # Two threads may build the same value at once; either result is the same.
        value = self._derived.get(key)
        if value is None:
            value = self._derived[key] = build()
        return value


class ReferenceCache:
    """The newest Reference one process has read, shared by its sessions."""

    def __init__(self):
        self._lock = threading.Lock()
        self._newest: Reference | None = None

    def get(self, revision: int) -> Reference | None:
        with self._lock:
            newest = self._newest
        return newest if newest is not None and newest.revision == revision else None

    def keep(self, reference: Reference) -> None:
        with self._lock:
            if self._newest is None or reference.revision >= self._newest.revision:
                self._newest = reference


def reference(session: Session) -> Reference:
    """The reference data in force for this transaction, read at most once."""
    loaded = session.info.get(_IN_SESSION)
    if loaded is not None:
        return loaded
    revision = session.scalar(select(ReferenceRevision.revision))
    cache: ReferenceCache | None = session.info.get(CACHE_KEY)
    loaded = cache.get(revision) if cache and revision is not None else None
    if loaded is None:
        loaded = Reference.read(session, revision)
        # What this transaction changed itself may still be rolled back.
        if cache and revision is not None and not session.info.get(_CHANGED):
            cache.keep(loaded)
    session.info[_IN_SESSION] = loaded
    return loaded


def prime_reference(session: Session, revision: int | None) -> None:
    """Take the revision another statement read on its way (a case's lock, say):
    if this process holds the reference data of that revision, the transaction
    uses it without reading the revision again."""
    if _IN_SESSION in session.info or revision is None:
        return
    cache: ReferenceCache | None = session.info.get(CACHE_KEY)
    loaded = cache.get(revision) if cache else None
    if loaded is not None:
        session.info[_IN_SESSION] = loaded


@event.listens_for(Session, "before_flush")
def _move_revision(session: Session, _context, _instances) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if not any(isinstance(row, REFERENCE_TABLES) for row in changed):
        return
    session.connection().execute(
        update(ReferenceRevision).values(revision=ReferenceRevision.revision + 1)
    )
    session.info[_CHANGED] = True
    session.info.pop(_IN_SESSION, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_IN_SESSION, None)
    session.info.pop(_CHANGED, None)
