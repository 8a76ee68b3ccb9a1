"""The dispatch catalogue page: triage and supervisors read it, admins publish a
new version of it."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models import Category, Department
from service import catalogue
from service.api import db_session
from service.pages.session import page_user, serve_signed_pages, signed_in
from workflows.errors import Forbidden

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
    rows = zip(
        request.form.getlist("category"),
        request.form.getlist("street"),
        request.form.getlist("department"),
        strict=False,
    )
    removed = set(request.form.getlist("remove"))
    entries = [
        {
            "category": category,
            "street": catalogue.street_of(street),
            "department": department,
        }
        for index, (category, street, department) in enumerate(rows)
        if (category or department) and str(index) not in removed
    ]
    published = catalogue.publish(
        db_session(), entries, user.name, request.form.get("note", "").strip() or None
    )
    flash(f"{published.version.version}", "published" if published.is_new else "same")
    return redirect(url_for(".show"), code=303)


def _page(status=200):
    session = db_session()
    current = catalogue.current(session)
    return render_template(
        "staff/catalogue.html",
        current=current,
        entries=current.entries if current else [],
        new_rows=NEW_ROWS,
        categories=session.scalars(select(Category).order_by(Category.code)).all(),
        departments=session.scalars(select(Department).order_by(Department.code)).all(),
        can_edit=page_user().role == "admin",
    ), status
