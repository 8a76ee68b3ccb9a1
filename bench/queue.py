"""The task queue: a page of GET /api/v1/tasks, first and deep in, HTTP and bare SQL."""

import statistics
import time
from dataclasses import dataclass

from flask import Flask

from bench.load import Client, expect
from bench.sql import BareSql, bare_sql

PAGE = {"queue": "available", "limit": 50}
WALK_LIMIT = 500


@dataclass(frozen=True)
class Page:
    """One page of the queue: through HTTP, and its SQL alone."""

    http_ms: float
    sql: BareSql


def measure_page(
    client: Client, app: Flask, token: str, after: str | None, repeats: int
) -> Page:
    params = {**PAGE, **({"after": after} if after else {})}
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        expect(client.get("/api/v1/tasks", params=params), 200)
        timings.append((time.perf_counter() - started) * 1000)

    # The same request in this process shows the statements the view sends.
    sql = bare_sql(
        app.extensions["suishoupai.db"].engine,
        lambda: app.test_client().get(
            "/api/v1/tasks",
            query_string=params,
            headers={"Authorization": f"Bearer {token}"},
        ),
        repeats,
    )
    return Page(statistics.median(timings), sql)


def cursor_at(client: Client, depth: int) -> tuple[str, int]:
    """The `next` cursor after about `depth` tasks, reached page by page."""
    seen, params = 0, {**PAGE, "limit": min(WALK_LIMIT, depth)}
    while True:
        page = expect(client.get("/api/v1/tasks", params=params), 200)
        seen += len(page["items"])
        if page["next"] is None:
            raise RuntimeError(f"the queue ended after {seen} tasks")
        if seen >= depth:
            return page["next"], seen
        params["after"] = page["next"]
