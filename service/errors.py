"""One JSON error shape for every failure: ours, HTTP errors and the unexpected."""

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DisconnectionError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from workflows.errors import SuishoupaiError

log = logging.getLogger(__name__)


def error_body(code: int, message: str, errors=None) -> dict:
    body = {
        "code": code,
        "status": HTTP_STATUS_CODES.get(code, "Error"),
        "message": message,
    }
    if errors:
        body["errors"] = errors
    return body


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SuishoupaiError)
    def handle_our_error(error: SuishoupaiError):
        log.info(
            "request refused: %s",
            error.message,
            extra={
                "case": error.case_number,
                "task": error.task_id,
                "element": error.element_id,
                "status": error.status,
            },
        )
        return jsonify(
            error_body(error.status, error.message, error.errors)
        ), error.status

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        # webargs puts the field messages of a 422 into `data`.
        data = getattr(error, "data", None) or {}
        errors = data.get("messages")
        message = error.description or HTTP_STATUS_CODES.get(error.code, "Error")
        if errors:
            message = "the request does not fit: see errors"
        return jsonify(error_body(error.code, message, errors)), error.code

    @app.errorhandler(RecursionError)
    def handle_deep_input(error: RecursionError):
        # JSON nested deeper than Python can read is the sender's mistake.
        if not request.is_json:
            return handle_unexpected(error)
        return jsonify(error_body(400, "the JSON is nested too deeply")), 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(DisconnectionError)
    def handle_database_outage(error: Exception):
        # The database is down, restarting, or busy past the wait for its lock.
        log.error("the database did not answer: %s", str(error).splitlines()[0])
        message = "the database does not answer; try again shortly"
        return jsonify(error_body(503, message)), 503

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unexpected error")
        fallback = InternalServerError()
        return jsonify(error_body(500, fallback.description)), 500
