"""GET /healthz: the service is up and its database answers."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from service.api import db_session
from workflows.clock import clock

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    db_session().execute(text("SELECT 1"))
    return jsonify({"status": "ok", "database": "ok", "time": clock.now().isoformat()})
