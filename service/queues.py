"""Task queues as SQL over the open-task index: scopes, filters, sorts and cursors.

A page continues after the last item it showed (a keyset cursor), so tasks that
open or close meanwhile never make a page skip or repeat an item.
"""

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, contains_eager, defer, lazyload

from models import Case, HumanTaskRow, User
from models.base import MAX_ROW_ID
from service.ladder_rules import distance_m
from service.permissions import LANE_ROLES
from service.sql_functions import lower_text
from workflows.clock import clock
from workflows.errors import Forbidden, Invalid

QUEUES = ("mine", "available", "department", "all")
# A queue shows each task's case from the join it filters on, without the engine state.
_SHOWN_CASE = contains_eager(HumanTaskRow.case).options(
    defer(Case.instance), lazyload(Case.reporter)
)
SORTS = ("due", "priority", "age")
METRES_PER_DEGREE = 111_320


@dataclass
class QueueQuery:
    queue: str = "available"
    sort: str = "due"
    limit: int = 50
    after: str | None = None
    category: str | None = None
    department: str | None = None
    status: str | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    street: str | None = None
    text: str | None = None
    near: tuple[float, float] | None = None
    within_m: float = 1000.0


def scope(user: User, queue: str):
    """Open tasks of one queue, before any filter."""
    query = (
        select(HumanTaskRow)
        .join(Case, Case.id == HumanTaskRow.case_id)
        .where(HumanTaskRow.closed_at.is_(None))
    )
    if queue == "all":
        if user.role not in ("admin", "supervisor"):
            raise Forbidden("the 'all' queue is for supervisors")
        return query
    if queue == "mine":
        mine = HumanTaskRow.assignee_id == user.id
        if user.role == "reporter":
            mine = or_(
                mine, (HumanTaskRow.lane == "reporter") & (Case.reporter_id == user.id)
            )
        return query.where(mine)
    if queue == "department":
        if not user.department_code:
            raise Forbidden("the 'department' queue is for department liaisons")
        return query.where(HumanTaskRow.department_code == user.department_code)

    query = query.where(HumanTaskRow.assignee_id.is_(None))
    if user.role == "admin":
        return query
    lanes = [lane for lane, role in LANE_ROLES.items() if role == user.role]
    mine = HumanTaskRow.lane.in_(lanes)
    if user.role == "handler":
        mine &= HumanTaskRow.department_code == user.department_code
    if user.role == "reporter":
        mine &= Case.reporter_id == user.id
    named = HumanTaskRow.candidate_users.contains(f",{user.name},", autoescape=True)
    return query.where(or_(mine, named))


def page(session: Session, user: User, wanted: QueueQuery) -> dict:
    """One page of a queue and the cursor of the next, if there is more."""
    query = _filtered(scope(user, wanted.queue), wanted)
    if wanted.after:
        parts = _after(wanted.sort, _decode(wanted.sort, wanted.after))
    else:
        parts = _start(wanted.sort)
    items = []
    for after in parts:
        missing = wanted.limit + 1 - len(items)
        if missing <= 0:
            break
        part = query if after is None else query.where(after)
        items += session.scalars(
            part.options(_SHOWN_CASE).order_by(*_order(wanted.sort)).limit(missing)
        ).all()
    more = len(items) > wanted.limit
    items = items[: wanted.limit]
    cursor = _encode(wanted.sort, items[-1]) if more else None
    if wanted.near:
        # The box in SQL is a square; keep only what lies within the circle.
        items = [
            t
            for t in items
            if t.case.lat is not None
            and distance_m(t.case.lat, t.case.lng, *wanted.near) <= wanted.within_m
        ]
    return {"items": items, "next": cursor}


def counts(session: Session, user: User) -> dict:
    """How many open tasks each of my queues holds, and how many are overdue."""
    result = {}
    for queue in QUEUES:
        try:
            query = scope(user, queue)
        except Forbidden:
            continue
        result[queue] = session.scalar(
            select(func.count()).select_from(query.subquery())
        )
    available = scope(user, "available").where(HumanTaskRow.due_at < clock.now())
    result["overdue"] = session.scalar(
        select(func.count()).select_from(available.subquery())
    )
    return result


def _filtered(query, wanted: QueueQuery):
    if wanted.category:
        query = query.where(Case.category_code == wanted.category)
    if wanted.department:
        query = query.where(Case.department_code == wanted.department)
    if wanted.status:
        query = query.where(Case.status == wanted.status)
    if wanted.street:
        # As the catalogue matches streets: whatever the case they were typed in.
        query = query.where(lower_text(Case.street) == wanted.street.strip().lower())
    if wanted.overdue is not None:
        late = HumanTaskRow.due_at < clock.now()
        query = query.where(
            late if wanted.overdue else or_(~late, HumanTaskRow.due_at.is_(None))
        )
    if wanted.due_before:
        query = query.where(HumanTaskRow.due_at < wanted.due_before)
    if wanted.text:
        # The text as typed, whatever its letters' case, on SQLite as on PostgreSQL:
        # %, _ and \\ are letters here, not LIKE's wildcards or escape.
        text = wanted.text.strip().lower()
        query = query.where(
            or_(
                *(
                    lower_text(column).contains(text, autoescape=True)
                    for column in (Case.description, Case.address, Case.number)
                )
            )
        )
    if wanted.near:
        lat, lng = wanted.near
        dlat = wanted.within_m / METRES_PER_DEGREE
        dlng = dlat / max(math.cos(math.radians(lat)), 0.01)
        query = query.where(
            Case.lat.between(lat - dlat, lat + dlat),
            Case.lng.between(lng - dlng, lng + dlng),
        )
    return query


def _order(sort: str):
    if sort == "priority":
        return (Case.escalation_level.desc(), Case.created_at, HumanTaskRow.id)
    if sort == "age":
        return (Case.created_at, HumanTaskRow.id)
    # Tasks with no due time come last: `_start` and `_after` read them apart.
    return (HumanTaskRow.due_at, HumanTaskRow.id)


def _start(sort: str) -> tuple:
    """The first page's conditions, read one after another like `_after`'s."""
    if sort == "due":
        return (HumanTaskRow.due_at.is_not(None), HumanTaskRow.due_at.is_(None))
    return (None,)


def _encode(sort: str, task: HumanTaskRow) -> str:
    if sort == "priority":
        key = [task.case.escalation_level, task.case.created_at.isoformat(), task.id]
    elif sort == "age":
        key = [task.case.created_at.isoformat(), task.id]
    else:
        key = [task.due_at.isoformat() if task.due_at else None, task.id]
    return base64.urlsafe_b64encode(json.dumps([sort, *key]).encode()).decode()


def _decode(sort: str, cursor: str) -> list:
    """The key a cursor of this sort names, each part of the type it was written as."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise _bad_cursor() from error
    if not isinstance(key, list) or not key or key[0] != sort:
        raise _bad_cursor()
    parts = key[1:]
    kinds = _CURSOR_PARTS[sort]
    if len(parts) != len(kinds):
        raise _bad_cursor()
    return [kind(part) for kind, part in zip(kinds, parts, strict=True)]


def _natural(value) -> int:
    # bool is an int to Python, never to a cursor; ids and levels fit the id columns.
    if type(value) is not int or not 0 <= value <= MAX_ROW_ID:
        raise _bad_cursor()
    return value


def _moment(value) -> datetime:
    if not isinstance(value, str):
        raise _bad_cursor()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise _bad_cursor() from error
    if moment.tzinfo is None:
        raise _bad_cursor()  # the service writes every moment with its offset
    return moment


def _moment_or_none(value) -> datetime | None:
    return None if value is None else _moment(value)


_CURSOR_PARTS = {
    "priority": (_natural, _moment, _natural),
    "age": (_moment, _natural),
    "due": (_moment_or_none, _natural),
}


def _after(sort: str, key: list) -> tuple:
    """Tasks that sort after the one the cursor names, in the same order.

    Given as conditions read one after another, each an index range of its own.
    """
    if sort == "priority":
        level, created, task_id = key
        return (
            or_(
                Case.escalation_level < level,
                and_(Case.escalation_level == level, Case.created_at > created),
                and_(
                    Case.escalation_level == level,
                    Case.created_at == created,
                    HumanTaskRow.id > task_id,
                ),
            ),
        )
    if sort == "age":
        created, task_id = key
        return (tuple_(Case.created_at, HumanTaskRow.id) > tuple_(created, task_id),)
    due, task_id = key
    if due is None:
        return (and_(HumanTaskRow.due_at.is_(None), HumanTaskRow.id > task_id),)
    # Tasks due later, then those with no due time (they sort last).
    return (
        tuple_(HumanTaskRow.due_at, HumanTaskRow.id) > tuple_(due, task_id),
        HumanTaskRow.due_at.is_(None),
    )


def _bad_cursor() -> Invalid:
    return Invalid(
        "not a cursor this service gave",
        errors={"after": ["use the 'next' of the previous page"]},
    )
