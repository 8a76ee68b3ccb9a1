"""Cases: one case with its photos and timeline, and the list a caller may see."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from models import Case
from service.api import answer, db_session, extension
from service.auth import current_user, require_role
from service.case_store import CaseStore
from service.permissions import can_see_case
from service.schemas import (
    CaseListSchema,
    CaseQuerySchema,
    CaseSchema,
    SupervisionSchema,
)
from workflows.errors import Conflict, NotFound

blp = Blueprint(
    "cases", __name__, url_prefix="/api/v1", description="Cases (work orders)"
)


def visible_cases(user):
    """A query of the cases this user may see."""
    query = select(Case)
    if user.role == "reporter":
        query = query.where(Case.reporter_id == user.id)
    elif user.role == "handler":
        query = query.where(Case.department_code == user.department_code)
    elif user.role == "partner":
        query = query.where(Case.partner == user.partner_code)
    elif user.role == "designer":
        query = query.where(False)
    return query


def find_case(number: str) -> Case:
    case = db_session().scalar(select(Case).where(Case.number == number))
    if case is None or not can_see_case(current_user(), case):
        raise NotFound(f"no case {number}", case_number=number)
    return case


@blp.route("/cases")
class Cases(MethodView):
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CaseListSchema)
    def get(self, query):
        """The cases the caller may see, newest first"""
        cases = visible_cases(current_user())
        if "status" in query:
            cases = cases.where(Case.status == query["status"])
        if "category" in query:
            cases = cases.where(Case.category_code == query["category"])
        if "department" in query:
            cases = cases.where(Case.department_code == query["department"])
        session = db_session()
        total = session.scalar(select(func.count()).select_from(cases.subquery()))
        page, per_page = query["page"], query["per_page"]
        items = session.scalars(
            cases.order_by(Case.created_at.desc(), Case.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        return {"items": items, "page": page, "per_page": per_page, "total": total}


@blp.route("/cases/<string:number>")
class OneCase(MethodView):
    @blp.response(200, CaseSchema)
    def get(self, number):
        """One case with its photos, timeline and open tasks"""
        file = CaseStore.of(db_session()).read_number(number)
        if file is None or not can_see_case(current_user(), file.case):
            raise NotFound(f"no case {number}", case_number=number)
        return answer(file)


@blp.route("/cases/<string:number>/supervision")
class Supervise(MethodView):
    @blp.arguments(SupervisionSchema)
    @blp.response(200, CaseSchema)
    def post(self, body, number):
        """A supervisor's decision: formal assignment and supervision (交办、督办)"""
        user = require_role("supervisor")
        case = find_case(number)
        casework, store = extension("casework"), CaseStore.of(db_session())
        file = store.lock(case.id)
        if file.case.status not in ("triage", "handling"):
            raise Conflict(
                f"case {number} is {file.case.status}: only cases in triage or "
                "handling are put under supervision",
                case_number=number,
            )
        instance = casework.instance(db_session(), file)
        casework.supervise(
            store,
            file,
            instance,
            f"decided by {user.name}: {body['reason']}",
            actor=user.name,
        )
        return answer(file)
