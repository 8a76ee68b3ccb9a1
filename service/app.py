"""The application factory: settings, database, engine runtime, API and scheduler."""

import logging
import warnings
from pathlib import Path

from flask import Flask, g
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from models.base import MAX_ROW_ID
from service import pages
from service.casework import Casework
from service.database import Database, roll_back
from service.definitions import DefinitionRegistry
from service.errors import register_error_handlers
from service.extensions import Extensions
from service.logs import configure_logging
from service.notify import Outbox, make_sender
from service.pages import session as signed_pages
from service.partners import PartnerUpdates
from service.photos import PhotoStore
from service.settings import Settings, SettingsError
from service.sweeps import Sweeps
from service.text_input import refuse_control_characters
from workflows.clock import attach_engine_to_clock, clock

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_environment()
    configure_logging(settings.log_level)
    attach_engine_to_clock()

    app = Flask(__name__)
    app.url_map.converters["int"] = RowId
    app.config.update(
        API_TITLE="Suishoupai",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
    )
    app.extensions["suishoupai.settings"] = settings

    _make_folder(settings.instance_dir, "SUISHOUPAI_INSTANCE_DIR")
    _make_folder(settings.photo_dir, "SUISHOUPAI_PHOTO_DIR")
    db = Database(settings.database_url, settings.db_idle_ping_seconds)
    registry = DefinitionRegistry()
    photo_store = PhotoStore(settings.photo_dir)
    app.extensions["suishoupai.db"] = db
    app.extensions["suishoupai.registry"] = registry
    app.extensions["suishoupai.photos"] = photo_store
    casework = Casework(settings, registry, photo_store)
    app.extensions["suishoupai.casework"] = casework
    app.extensions["suishoupai.sweeps"] = Sweeps(casework, db)
    app.extensions["suishoupai.extension_requests"] = Extensions(casework)
    app.extensions["suishoupai.partner_updates"] = PartnerUpdates(casework)
    app.extensions["suishoupai.outbox"] = Outbox(
        db, make_sender(settings), settings.notify_max_attempts
    )

    _wire_request_sessions(app, db)
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from service.api import register_blueprints

    register_blueprints(app, api, settings)
    # After authentication: a stranger's body is not read at all.
    refuse_control_characters(app)
    app.register_blueprint(pages.blp)
    signed_pages.init_app(app, settings)
    register_error_handlers(app)

    if settings.test_clock:
        clock.share_offset_through(settings.instance_dir / "test-clock")
        warnings.warn(
            "SUISHOUPAI_TEST_CLOCK is set: the clock can be moved over HTTP",
            stacklevel=1,
        )
        log.warning("test clock enabled: never run production like this")
    return app


def _make_folder(path: Path, variable: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"{variable}={str(path)!r} is not a folder the service can use: "
            f"{error.strerror or error}"
        ) from error


class RowId(IntegerConverter):
    """An id in a path; past the id columns' range it names no row: no match.

    Only ASCII digits spell one: Python would read "١" (Arabic-Indic one) as 1.
    """

    regex = r"[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def _wire_request_sessions(app: Flask, db: Database) -> None:
    """One session per request, committed only when the answer is a success."""

    @app.before_request
    def open_session():
        g.db_session = db.sessions()

    @app.after_request
    def finish_session(response):
        session = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
                session.commit()
            else:
                roll_back(session)
        except Exception:
            roll_back(session)
            raise
        finally:
            session.close()
        return response

    @app.teardown_request
    def close_session(_error):
        session = g.pop("db_session", None)
        if session is not None:
            roll_back(session)
            session.close()
