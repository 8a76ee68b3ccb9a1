"""The dispatch catalogue page: triage and supervisors read it, admins publish a
new version of it."""

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models import Category, Department
from service import catalogue
from service.api import db_session
from service.database import roll_back
from service.pages.session import page_user, serve_signed_pages, signed_in
from workflows.errors import Forbidden, Invalid

blp = Blueprint("catalogue_page", __name__, url_prefix="/staff/catalogue")
serve_signed_pages(blp)

READERS = ("triage", "supervisor", "admin")
# Empty rows under the current entries, for adding routes.
NEW_ROWS = 3


@blp.get("/")
@signed_in(*READERS)
def show():
    """The catalogue in force, as a form for admins."""
    return _page()


@blp.post("/")
@signed_in(*READERS)
def publish():
    """Publish the rows as the next version; blank and removed rows are left out."""
    user = page_user()
    if user.role != "admin":
        raise Forbidden("only admins publish the catalogue")
    form = request.form
    columns = [form.getlist(name) for name in ("category", "street", "department")]
    if len({len(column) for column in columns}) > 1:
        raise Invalid(
            "the catalogue form does not fit",
            errors={"entries": ["each row has a category, a street and a department"]},
        )
    removed = set(form.getlist("remove"))
    # Each row kept with its place in the form, so that a problem names its row.
    kept = [
        (index, row)
        for index, row in enumerate(zip(*columns, strict=True))
        if any(part.strip() for part in row) and str(index) not in removed
    ]
    entries = [
        {
            "category": category,
            "street": catalogue.street_of(street),
            "department": department,
        }
        for _, (category, street, department) in kept
    ]
    try:
        published = catalogue.publish(
            db_session(), entries, user.name, form.get("note", "").strip() or None
        )
    except Invalid as error:
        roll_back(db_session())
        problems = (error.errors or {}).get("entries") or {}
        rows = [
            (kept[int(entry)][0] + 1, "; ".join(messages))
            for entry, messages in problems.items()
        ]
        typed = [
            SimpleNamespace(category_code=category, street=street, department_code=d)
            for _, (category, street, d) in kept
        ]
        return _page(422, problems=rows or [(None, error.message)], entries=typed)
    flash(f"{published.version.version}", "published" if published.is_new else "same")
    return redirect(url_for(".show"), code=303)


def _page(status=200, problems=(), entries=None):
    session = db_session()
    current = catalogue.current(session)
    if entries is None:
        entries = current.entries if current else []
    return render_template(
        "staff/catalogue.html",
        current=current,
        entries=entries,
        problems=problems,
        new_rows=NEW_ROWS,
        categories=session.scalars(select(Category).order_by(Category.code)).all(),
        departments=session.scalars(select(Department).order_by(Department.code)).all(),
        can_edit=page_user().role == "admin",
    ), status
