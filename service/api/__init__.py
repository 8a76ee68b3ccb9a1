"""The /api/v1 blueprints and the helpers every view shares."""

from flask import Flask, current_app, g
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
    for module in (reference, reports, cases, photos, tasks, escalations, definitions):
        module.blp.before_request(load_user)
        api.register_blueprint(module.blp)
    if settings.test_clock:
        testing.blp.before_request(load_user)
        api.register_blueprint(testing.blp)
