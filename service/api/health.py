"""GET /healthz: the service is up and its database answers."""

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.api import db_session
from service.errors import error_body
from workflows.clock import clock

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # Checked every few seconds during an outage: a line each, not a traceback.
        reason = str(error).splitlines()[0]
        log.error("health check: the database does not answer: %s", reason)
        return jsonify(error_body(503, "the database does not answer")), 503
    return jsonify({"status": "ok", "database": "ok", "time": clock.now().isoformat()})
