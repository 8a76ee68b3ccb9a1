"""Text nothing downstream can hold is refused before a request reaches the case loop.

PostgreSQL text cannot contain the NUL character (SQLite stores it, so the same input
would behave differently on the two), and a worksheet cannot hold the other control
characters but tab and line breaks, so one such report would break every export that
shows it. A lone surrogate (JSON can spell one, "\\ud800") is no character at all and
cannot be written in UTF-8. Any of them in a query, a form field, a JSON string or the
Idempotency-Key is refused with 422 naming where it is; photos are files and may hold
any byte. An Idempotency-Key is also at most as long as its column, and a JSON number
at most as long as Python reads one. NaN and Infinity, which Python reads in JSON but
JSON itself does not have (PostgreSQL's json type refuses them), are refused too.
"""

import json
import math
import re
import sys
from collections.abc import Iterator

from flask import Flask, request

from service.idempotency import KEY_HEADER
from workflows.errors import Invalid, NotFound

# C0 controls but tab, line feed and carriage return: what openpyxl refuses, and NUL;
# and the UTF-16 surrogates, which stand for nothing on their own.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_KEY = 120


def refuse_control_characters(app: Flask) -> None:
    @app.before_request
    def refuse_control():
        if CONTROL.search(request.path):
            raise NotFound("no such address")
        errors = {}
        for name, value in _parts():
            if isinstance(value, str) and CONTROL.search(value):
                errors[name] = ["may not contain control characters or lone surrogates"]
            elif isinstance(value, float) and not math.isfinite(value):
                errors[name] = ["NaN and Infinity are not numbers JSON can carry"]
        if len(request.headers.get(KEY_HEADER, "")) > MAX_KEY:
            errors[KEY_HEADER] = [f"at most {MAX_KEY} characters"]
        if errors:
            raise Invalid(
                "the request carries values that cannot be kept", errors=errors
            )


def _parts() -> Iterator[tuple[str, str | float]]:
    """Every piece of text the request carries, and every JSON number with a
    fraction, with the name of where it is."""
    yield from request.args.items(multi=True)
    if KEY_HEADER in request.headers:
        yield KEY_HEADER, request.headers[KEY_HEADER]
    if request.mimetype in FORMS:
        yield from request.form.items(multi=True)
    if request.is_json:
        yield from _json_parts(_json_body())


def _json_body():
    """The JSON body, or None when it is not JSON (each route says how it wants it)."""
    body = request.get_json(silent=True)  # parsed once, kept for the route
    if body is not None or not request.get_data(cache=True):
        return body
    try:
        # Only to learn why it could not be read.
        return json.loads(request.get_data(cache=True))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except ValueError as error:
        # Python refuses to read an integer of more digits than this.
        digits = sys.get_int_max_str_digits()
        raise Invalid(
            "the JSON body holds a number too long to read",
            errors={"json": [f"a number has more than {digits} digits"]},
        ) from error


def _json_parts(body) -> Iterator[tuple[str, str | float]]:
    """Keys, strings and fractional numbers at any depth of a JSON body, each
    named by its path."""
    pending = [("json", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str | float):
            yield path, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield path, key
                pending.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{i}", item) for i, item in enumerate(value))
