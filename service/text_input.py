"""Text no database column can hold is refused before a request reaches the case loop.

PostgreSQL text cannot contain the NUL character (SQLite stores it, so the same input
would behave differently on the two). A NUL in a query, a form field, a JSON string or
the Idempotency-Key is refused with 422 naming where it is; photos are files and may
hold any byte.
"""

from collections.abc import Iterator

from flask import Flask, request

from workflows.errors import Invalid, NotFound

NUL = "\x00"
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
NAMED_HEADERS = ("Idempotency-Key",)


def refuse_nul_characters(app: Flask) -> None:
    @app.before_request
    def refuse_nul():
        if NUL in request.path:
            raise NotFound("no such address")
        bad = sorted({name for name, text in _texts() if NUL in text})
        if bad:
            raise Invalid(
                "text may not contain the NUL character",
                errors={name: ["may not contain the NUL character"] for name in bad},
            )


def _texts() -> Iterator[tuple[str, str]]:
    """Every piece of text the request carries, with the name of where it is."""
    yield from request.args.items(multi=True)
    for header in NAMED_HEADERS:
        if header in request.headers:
            yield header, request.headers[header]
    if request.mimetype in FORMS:
        yield from request.form.items(multi=True)
    if request.is_json:
        yield from _strings(request.get_json(silent=True))


def _strings(body) -> Iterator[tuple[str, str]]:
    """Keys and string values at any depth of a JSON body, each named by its path."""
    pending = [("json", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield path, key
                pending.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{i}", item) for i, item in enumerate(value))
