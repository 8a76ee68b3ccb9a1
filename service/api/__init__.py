"""The /api/v1 blueprints and the helpers every view shares."""

from flask import Flask, current_app, g, request
from flask_smorest import Api

from service.auth import authenticate
from service.settings import Settings


def db_session():
    return g.db_session


def extension(name: str):
    return current_app.extensions[f"suishoupai.{name}"]


def load_user() -> None:
    g.user = authenticate(db_session())


def register_blueprints(app: Flask, api: Api, settings: Settings) -> None:
    from service.api import (
        cases,
        definitions,
        escalations,
        health,
        photos,
        reference,
        reports,
        tasks,
        testing,
    )

    app.register_blueprint(health.blp)
    modules = [reference, reports, cases, photos, tasks, escalations, definitions]
    if settings.test_clock:
        modules.append(testing)
    for module in modules:
        api.register_blueprint(module.blp)
    authenticated = {module.blp.name for module in modules}

    @app.before_request
    def authenticate_api_calls():
        if request.blueprint in authenticated:
            load_user()
