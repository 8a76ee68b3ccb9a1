"""Bearer tokens: issuing them to users and finding the user behind a request."""

import hashlib
import secrets

from flask import g, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import Department, ReferenceRevision, User
from models.people import ROLES
from service.batches import Batch, Statement
from service.partners import PARTNERS
from service.reference_cache import prime_reference
from workflows.errors import Forbidden, Invalid, Unauthorized


def hash_token(token: str) -> str:
    # Tokens are long random secrets, so a fast digest suffices; passwords would not.
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    session: Session,
    name: str,
    role: str,
    department: str | None,
    partner: str | None = None,
) -> str:
    """Create a user and return the API token, which is shown only this once."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}", errors={"role": [f"one of {ROLES}"]})
    if (role == "partner") != bool(partner) or (partner and partner not in PARTNERS):
        raise Invalid(
            "a partner account names its platform, and only it does",
            errors={"partner": [f"one of {', '.join(PARTNERS)}, for the partner role"]},
        )
    if (role == "handler") != bool(department):
        raise Invalid(
            "a handler belongs to a department, and only a handler does",
            errors={"department": ["required for handlers, and for them only"]},
        )
    if department and session.get(Department, department) is None:
        raise Invalid(
            f"unknown department {department!r}",
            errors={"department": [f"unknown department {department!r}"]},
        )
    if not isinstance(name, str):
        raise Invalid("a user's name is text", errors={"name": ["text"]})
    if not name.strip() or len(name) > 80 or not name.isprintable():
        raise Invalid(
            "a user needs a name of 1 to 80 printable characters",
            errors={"name": ["1 to 80 printable characters"]},
        )
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Invalid(f"user {name!r} exists already", errors={"name": ["taken"]})

    token = secrets.token_urlsafe(32)
    session.add(
        User(
            name=name,
            role=role,
            department_code=department,
            partner_code=partner,
            token_hash=hash_token(token),
        )
    )
    session.flush()
    return token


users = User.__table__
# The reference data's revision comes with the caller: every call needs it once,
# and reading it here spares its transaction a round trip.
CALLER = Statement(
    select(
        users,
        select(ReferenceRevision.revision)
        .scalar_subquery()
        .label("reference_revision"),
    ).where(users.c.token_hash == bindparam("token_hash"))
)


def authenticate(session: Session) -> User:
    """The user whose token the request carries, read for this request only: the
    object is not part of the session and nothing writes through it."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer TOKEN'")
    with Batch(session.connection()) as batch:
        found = batch.run(CALLER, token_hash=hash_token(token.strip()))
    row = found.first()
    if row is None:
        raise Unauthorized("unknown or revoked token")
    prime_reference(session, row.pop("reference_revision"))
    return User(**row)


def current_user() -> User:
    return g.user


def require_role(*roles: str) -> User:
    user = current_user()
    if user.role != "admin" and user.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return user
