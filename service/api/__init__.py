"""The /api/v1 blueprints and the helpers every view shares."""

import unicodedata
from urllib.parse import quote

from flask import Flask, current_app, g, request
from flask_smorest import Api

from service.answers import case_answer, case_summary
from service.auth import authenticate
from service.case_file import CaseFile
from service.case_store import CaseStore
from service.deadlines import Deadlines
from service.settings import Settings
from workflows.clock import clock


def db_session():
    return g.db_session


def extension(name: str):
    return current_app.extensions[f"suishoupai.{name}"]


def attachment(name: str) -> str:
    """A Content-Disposition for a download named `name`, in any script.

    Headers carry Latin-1 at most: a name beyond ASCII goes as RFC 5987 `filename*`
    (UTF-8), beside an ASCII rendering for clients that know only `filename`.
    """
    printable = "".join(c for c in name if c.isprintable() and c not in '"\\')
    ascii_name = (
        unicodedata.normalize("NFKD", printable).encode("ascii", "ignore").decode()
    )
    header = f'attachment; filename="{ascii_name or "download"}"'
    if ascii_name != printable:
        header += f"; filename*=UTF-8''{quote(printable, safe='')}"
    return header


def load_user() -> None:
    g.user = authenticate(db_session())


def deadline_of(case) -> dict | None:
    """The case's current stage deadline, as its answer shows it."""
    session = db_session()
    deadline = CaseStore.of(session).open_deadline(case.id)
    if deadline is None:
        return None
    return Deadlines.load(session, extension("settings")).view(deadline, clock.now())


def answer(file: CaseFile) -> dict:
    """The case as `CaseSchema` shows it."""
    return case_answer(CaseStore.of(db_session()), file, extension("settings"))


def summary(file: CaseFile) -> dict:
    """The case as `CaseSummarySchema` shows it."""
    return case_summary(CaseStore.of(db_session()), file)


def register_blueprints(app: Flask, api: Api, settings: Settings) -> None:
    from service.api import (
        cases,
        catalogue,
        definitions,
        escalations,
        exports,
        extensions,
        health,
        partners,
        photos,
        reference,
        reports,
        stats,
        tasks,
        testing,
    )
    from service.pages import supervision

    app.register_blueprint(health.blp)
    app.register_blueprint(supervision.blp)
    modules = [
        reference,
        reports,
        cases,
        photos,
        tasks,
        escalations,
        extensions,
        definitions,
        stats,
        exports,
        catalogue,
        partners,
    ]
    if settings.test_clock:
        modules.append(testing)
    for module in modules:
        api.register_blueprint(module.blp)
    authenticated = {module.blp.name for module in modules}

    @app.before_request
    def authenticate_api_calls():
        if request.blueprint in authenticated:
            load_user()
