"""The escalation board and the open cases: what is late, by level and department."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Case, Category, CommonProblem, Department, Escalation, StageDeadline
from service.stats import NO_KEY, OPEN_STATUSES

LEVEL_NAMES = {
    0: "无 none",
    1: "提示 reminder",
    2: "建议 suggestion",
    3: "督办 supervision",
}


@dataclass
class BoardEntry:
    """One open escalation on one case."""

    level: int
    department: str | None
    case_number: str
    category: str | None
    stage: str
    reason: str
    raised_at: datetime
    common_problem: int | None


@dataclass
class ProblemEntry:
    """An open common problem (共性问题) and the cases it groups."""

    id: int
    category: str
    department: str | None
    lat: float
    lng: float
    suggestion: str
    opened_at: datetime
    cases: list[str] = field(default_factory=list)


@dataclass
class Board:
    entries: list[BoardEntry]
    problems: list[ProblemEntry]
    departments: dict  # code -> label

    def by_level(self) -> list[tuple[int, list[tuple[str, list[BoardEntry]]]]]:
        """Levels from the highest down, each with its departments' entries."""
        levels = []
        for level in sorted({e.level for e in self.entries}, reverse=True):
            at_level = [e for e in self.entries if e.level == level]
            codes = sorted(
                {e.department for e in at_level}, key=lambda c: (c is None, c)
            )
            levels.append(
                (
                    level,
                    [
                        (
                            self.department_label(code),
                            [e for e in at_level if e.department == code],
                        )
                        for code in codes
                    ],
                )
            )
        return levels

    def department_label(self, code: str | None) -> str:
        if code is None:
            return NO_KEY["department"]
        return self.departments.get(code, code)


@dataclass
class OpenCase:
    number: str
    status: str
    category: str | None
    department: str | None
    escalation_level: int
    created_at: datetime
    due_at: datetime | None
    lat: float | None
    lng: float | None
    address: str | None
    street: str | None
    description: str


def department_labels(session: Session) -> dict:
    return {
        d.code: f"{d.name_zh} {d.name}" for d in session.scalars(select(Department))
    }


def category_labels(session: Session) -> dict:
    return {c.code: f"{c.name_zh} {c.name}" for c in session.scalars(select(Category))}


def load_board(session: Session) -> Board:
    """Open escalations, highest level first, and the open common problems."""
    rows = session.execute(
        select(
            Escalation.level,
            func.coalesce(Escalation.department_code, Case.department_code).label(
                "department"
            ),
            Case.number.label("case_number"),
            Case.category_code.label("category"),
            Escalation.stage,
            Escalation.reason,
            Escalation.raised_at,
            Escalation.group_id.label("common_problem"),
        )
        .join(Case, Case.id == Escalation.case_id)
        .where(Escalation.closed_at.is_(None))
        .order_by(Escalation.level.desc(), Escalation.raised_at, Escalation.id)
    ).all()
    entries = [BoardEntry(**row._asdict()) for row in rows]

    problems = []
    for problem in session.scalars(
        select(CommonProblem)
        .where(CommonProblem.closed_at.is_(None))
        .order_by(CommonProblem.opened_at, CommonProblem.id)
    ):
        numbers = session.scalars(
            select(Case.number)
            .join(Escalation, Escalation.case_id == Case.id)
            .where(Escalation.group_id == problem.id)
            .distinct()
            .order_by(Case.number)
        ).all()
        problems.append(
            ProblemEntry(
                id=problem.id,
                category=problem.category_code,
                department=problem.department_code,
                lat=problem.lat,
                lng=problem.lng,
                suggestion=problem.suggestion,
                opened_at=problem.opened_at,
                cases=list(numbers),
            )
        )
    return Board(entries, problems, department_labels(session))


def open_cases(session: Session) -> list[OpenCase]:
    """Every case not yet finished, most escalated first, with its stage's due time."""
    due = (
        select(StageDeadline.case_id, func.min(StageDeadline.due_at).label("due_at"))
        .where(StageDeadline.closed_at.is_(None))
        .group_by(StageDeadline.case_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Case.number,
            Case.status,
            Case.category_code.label("category"),
            Case.department_code.label("department"),
            Case.escalation_level,
            Case.created_at,
            due.c.due_at,
            Case.lat,
            Case.lng,
            Case.address,
            Case.street,
            Case.description,
        )
        .outerjoin(due, due.c.case_id == Case.id)
        .where(Case.status.in_(OPEN_STATUSES))
        .order_by(Case.escalation_level.desc(), Case.created_at, Case.id)
    ).all()
    return [OpenCase(**row._asdict()) for row in rows]
