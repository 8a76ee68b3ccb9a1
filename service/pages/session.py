"""Signing in to the server-rendered pages: the session cookie, CSRF and language.

A user signs in once with their API token; the signed session cookie then names
the user. Every POST form carries the session's CSRF token. The staff and reporter
blueprints take the same hooks as this one through `serve_signed_pages`.
"""

import hashlib
import logging
import os
import secrets
from datetime import timedelta
from functools import wraps
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from models import Case, Photo, User
from service import i18n
from service.api import db_session, extension
from service.auth import hash_token
from service.database import roll_back
from service.permissions import can_see_case
from service.settings import Settings
from workflows.errors import Forbidden, NotFound, SuishoupaiError

log = logging.getLogger(__name__)

blp = Blueprint("site", __name__)

SECRET_FILE = "secret_key"
SESSION_DAYS = 7
STAFF_ROLES = ("triage", "handler", "supervisor", "admin")
REPORTER_ROLES = ("reporter", "admin")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def init_app(app: Flask, settings: Settings) -> None:
    """Sign session cookies and serve the staff and reporter pages."""
    from service.pages import catalogue, reporter, staff

    app.secret_key = settings.secret_key or _kept_secret(settings.instance_dir)
    app.config.update(
        SESSION_COOKIE_NAME="suishoupai_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
    )
    for blueprint in (blp, staff.blp, reporter.blp, catalogue.blp):
        app.register_blueprint(blueprint)


def _kept_secret(instance_dir: Path) -> str:
    """The instance's own secret, made on first start so restarts keep sessions."""
    path = Path(instance_dir) / SECRET_FILE
    if not path.exists():
        # Written whole under a private name, then linked into place: of several
        # workers starting at once, one wins and the others read its secret.
        staged = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(staged, path)
            log.info("generated the session secret", extra={"path": str(path)})
        except FileExistsError:
            pass
        finally:
            staged.unlink()
    return path.read_text().strip()


# Who is signed in


def _token_mark(user: User) -> str:
    # A new or revoked token changes the hash, and so ends the user's sessions.
    return hashlib.sha256(f"session {user.token_hash}".encode()).hexdigest()[:24]


def signed_in_user() -> User | None:
    user_id = session.get("user")
    if user_id is None:
        return None
    user = db_session().get(User, user_id)
    if user is None or session.get("mark") != _token_mark(user):
        session.pop("user", None)
        return None
    return user


def page_user() -> User:
    return g.page_user


def home_of(user: User) -> str:
    """Where a role starts: reporters at the report form, staff at the queue."""
    if user.role == "reporter":
        return url_for("reporter.new_report")
    if user.role in STAFF_ROLES:
        return url_for("staff.queue")
    return url_for("pages.modeler")


def signed_in(*roles: str):
    """Views for signed-in users of these roles; others sign in or are refused."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = page_user()
            if user is None:
                back = request.full_path.rstrip("?")
                return redirect(url_for("site.sign_in", next=back))
            if roles and user.role not in roles:
                raise Forbidden(i18n.translate(g.lang, "error.forbidden"))
            return view(*args, **kwargs)

        return wrapper

    return decorate


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _safe_next(target: str | None) -> str | None:
    """A path on this site to go back to after signing in, never another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target or not target.isprintable():
        return None
    return target


# Hooks every signed page shares


def start_page():
    """Language and user of the request; a POST without this session's token stops."""
    g.lang = i18n.choose(request.args, request.cookies, request.accept_languages)
    g.page_user = signed_in_user()
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not (expected and secrets.compare_digest(sent, expected)):
            log.info("form refused: CSRF token missing or stale")
            return _error_page(400, i18n.translate(g.lang, "error.csrf"))
    return None


def finish_page(response):
    """Headers every page carries, and the language cookie when one was chosen."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    response.vary.add("Cookie")
    wanted = request.args.get("lang")
    if wanted in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            wanted,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def page_globals():
    user = g.get("page_user")
    return {
        "t": i18n.Words(g.get("lang", i18n.DEFAULT)),
        "user": user,
        "csrf_token": csrf_token,
        "switch_url": _switch_url,
        "home_url": home_of(user) if user else url_for("site.sign_in"),
        "staff_roles": STAFF_ROLES,
        "reporter_roles": REPORTER_ROLES,
    }


def _switch_url(lang: str, path: str | None = None) -> str:
    """This page in another language; for a page answering a form, `path` or home."""
    if path is None and request.method != "GET":
        user = g.get("page_user")
        path = home_of(user) if user else url_for("site.sign_in")
    args = request.args.to_dict() if path is None else {}
    args["lang"] = lang
    return f"{path or request.path}?{urlencode(args)}"


def domain_error(error: SuishoupaiError):
    """A refusal of the domain as a page; nothing of the request is kept."""
    roll_back(db_session())
    log.info(
        "page refused: %s",
        error.message,
        extra={"case": error.case_number, "task": error.task_id},
    )
    return _error_page(error.status, error.message)


def http_error(error: HTTPException):
    roll_back(db_session())
    key = f"error.http.{error.code}"
    message = i18n.translate(g.get("lang", i18n.DEFAULT), key, default="")
    return _error_page(error.code or 500, message or error.description)


def unexpected_error(error: Exception):
    """Logged with its traceback for operators; the page says only that it failed."""
    log.exception("page failed")
    roll_back(db_session())
    lang = g.get("lang", i18n.DEFAULT)
    return _error_page(500, i18n.translate(lang, "error.http.500"))


def _error_page(status: int, message: str):
    return render_template("staff/error.html", status=status, message=message), status


def serve_signed_pages(blueprint: Blueprint) -> None:
    """Give a blueprint's pages the session user, CSRF checks, language and errors."""
    blueprint.before_request(start_page)
    blueprint.after_request(finish_page)
    blueprint.context_processor(page_globals)
    blueprint.register_error_handler(SuishoupaiError, domain_error)
    blueprint.register_error_handler(HTTPException, http_error)
    blueprint.register_error_handler(Exception, unexpected_error)


serve_signed_pages(blp)


# Sign-in and sign-out


@blp.route("/signin", methods=["GET", "POST"])
def sign_in():
    """Take the user's API token once; from then on the session cookie names them."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if page_user() is not None and target is None:
            return redirect(home_of(page_user()))
        return render_template("staff/signin.html", next=target)

    token = request.form.get("token", "").strip()
    user = None
    if token:
        user = db_session().scalar(
            select(User).where(User.token_hash == hash_token(token))
        )
    if user is None:
        log.info("page sign-in refused: unknown token")
        message = i18n.translate(g.lang, "signin.refused")
        return render_template("staff/signin.html", next=target, refused=message), 401

    # A fresh session: nothing from before signing in carries over.
    session.clear()
    session.permanent = True
    session["user"] = user.id
    session["mark"] = _token_mark(user)
    csrf_token()
    log.info("signed in to the pages", extra={"user": user.name, "role": user.role})
    return redirect(target or home_of(user), code=303)


@blp.post("/signout")
def sign_out():
    session.clear()
    flash(i18n.translate(g.lang, "signin.signed_out"), "ok")
    return redirect(url_for("site.sign_in"), code=303)


# Photos of the cases a signed-in user may see


def _photo(photo_id: int) -> Photo:
    photo = db_session().get(Photo, photo_id)
    if photo is None or not can_see_case(
        page_user(), db_session().get(Case, photo.case_id)
    ):
        raise NotFound(f"no photo {photo_id}")
    return photo


@blp.get("/photos/<int:photo_id>")
@signed_in()
def photo(photo_id):
    found = _photo(photo_id)
    path = extension("photos").path(found.path).resolve()
    return _private_file(send_file(path, mimetype=found.media_type, max_age=3600))


@blp.get("/photos/<int:photo_id>/thumbnail")
@signed_in()
def thumbnail(photo_id):
    found = _photo(photo_id)
    path = extension("photos").path(found.thumbnail_path).resolve()
    return _private_file(send_file(path, mimetype="image/jpeg", max_age=3600))


def _private_file(response):
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
