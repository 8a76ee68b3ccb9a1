"""Supervisors' pages: the dashboard, the map of open cases and the escalation board.

Like the other pages, each is a shell that signs in with the user's API token; the
shell then loads its view, HTML drawn here on the server (tables and inline SVG
charts), from /supervision/views/... with that token as a bearer header.
"""

from flask import Blueprint, render_template, request
from markupsafe import Markup
from marshmallow import ValidationError

from service import charts
from service.api import db_session, load_user
from service.api.stats import StatsQuerySchema, period_of
from service.auth import require_role
from service.board import (
    LEVEL_NAMES,
    category_labels,
    department_labels,
    load_board,
    open_cases,
)
from service.exports import STAGE_NAMES, local
from service.stats import STAGES, compute
from workflows.errors import Invalid

blp = Blueprint("supervision", __name__, url_prefix="/supervision")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SHELLS = {
    "dashboard": "统计 Dashboard",
    "map": "地图 Map of open cases",
    "board": "督办看板 Escalation board",
}
BY_LABELS = {
    "department": "部门 department",
    "category": "类别 category",
    "street": "街道 street",
}


@blp.after_request
def secure_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.before_request
def supervisors_only_for_views():
    # The shells hold no data; the views do, and answer only to a supervisor's token.
    if request.endpoint and request.endpoint.startswith("supervision.view_"):
        load_user()
        require_role("supervisor")


# Shells


@blp.get("/")
def dashboard():
    """Figures of a period, charts of them, and the files to download."""
    return _shell("dashboard")


@blp.get("/map")
def map_page():
    return _shell("map")


@blp.get("/board")
def board():
    return _shell("board")


def _shell(view: str):
    return render_template(
        f"supervision/{view}.html",
        view=view,
        pages=SHELLS,
        groupings=BY_LABELS,
        query=request.args,
    )


# Views, drawn on the server


@blp.get("/views/dashboard")
def view_dashboard():
    try:
        query = StatsQuerySchema().load(request.args)
    except ValidationError as error:
        raise Invalid(
            "the request does not fit: see errors", errors=error.messages
        ) from error
    session = db_session()
    report = compute(session, period_of(query), query["by"], query["quick_hours"])
    return render_template(
        "supervision/views/dashboard.html",
        report=report,
        by_label=BY_LABELS[report.by],
        stages=STAGES,
        stage_names=STAGE_NAMES,
        charts=_dashboard_charts(report),
        percent=percent,
        hours=hours,
        when=when,
    )


@blp.get("/views/map")
def view_map():
    session = db_session()
    cases = open_cases(session)
    located = [c for c in cases if c.lat is not None and c.lng is not None]
    points = [
        charts.MapPoint(
            c.lat,
            c.lng,
            charts.LEVEL_COLOURS.get(min(c.escalation_level, 3), "#868e96"),
            c.number,
            f"{c.number} · {LEVEL_NAMES.get(c.escalation_level, '')} · {c.status}",
            f"/cases/{c.number}/viewer",
        )
        for c in located
    ]
    legend = [(LEVEL_NAMES[level], charts.LEVEL_COLOURS[level]) for level in range(4)]
    return render_template(
        "supervision/views/map.html",
        cases=cases,
        located=len(located),
        chart=Markup(
            charts.scatter_map(
                "在办工单 Open cases by escalation level", points, legend
            )
        ),
        level_names=LEVEL_NAMES,
        departments=department_labels(session),
        categories=category_labels(session),
        when=when,
    )


@blp.get("/views/board")
def view_board():
    session = db_session()
    board = load_board(session)
    counts = {
        level: sum(len(entries) for _label, entries in departments)
        for level, departments in board.by_level()
    }
    chart = charts.bar_chart(
        "各级督办 Open escalations by level",
        [LEVEL_NAMES[level] for level in (3, 2, 1)],
        [
            charts.Series(
                "escalations 件", "#d9480f", [counts.get(n, 0) for n in (3, 2, 1)]
            )
        ],
        whole=True,
        unit="escalations",
    )
    return render_template(
        "supervision/views/board.html",
        board=board,
        levels=board.by_level(),
        level_names=LEVEL_NAMES,
        categories=category_labels(session),
        chart=Markup(chart),
        stage_names=STAGE_NAMES,
        when=when,
    )


# Drawing and formatting


def _dashboard_charts(report) -> list[Markup]:
    labels = [g.label for g in report.groups]
    by = BY_LABELS[report.by]
    volume = charts.bar_chart(
        f"收件与结案 Received and closed, by {by}",
        labels,
        [
            charts.Series(
                "收件 received", charts.PALETTE[0], [g.received for g in report.groups]
            ),
            charts.Series(
                "结案 closed", charts.PALETTE[4], [g.closed for g in report.groups]
            ),
        ],
        whole=True,
        unit="cases",
    )
    rates = charts.bar_chart(
        f"各项比率 Rates, by {by}",
        labels,
        [
            charts.Series(
                "按期结案率 on time",
                charts.PALETTE[0],
                _percents(report, "on_time_rate"),
            ),
            charts.Series(
                "结案率 closure", charts.PALETTE[1], _percents(report, "closure_rate")
            ),
            charts.Series(
                f"立即整改率 within {report.quick_hours:g} h",
                charts.PALETTE[4],
                _percents(report, "quick_rate"),
            ),
            charts.Series(
                "返工率 rework", charts.PALETTE[2], _percents(report, "rework_rate")
            ),
            charts.Series(
                "满意率 satisfaction",
                charts.PALETTE[5],
                _percents(report, "satisfaction"),
            ),
        ],
        unit="%",
        maximum=100,
    )
    totals = report.totals.stages
    times = charts.bar_chart(
        "各环节用时 Time per stage (all cases)",
        [STAGE_NAMES[s] for s in STAGES],
        [
            charts.Series(
                "平均 mean", charts.PALETTE[0], [totals[s].mean_hours for s in STAGES]
            ),
            charts.Series(
                "P90", charts.PALETTE[2], [totals[s].p90_hours for s in STAGES]
            ),
        ],
        unit="hours",
    )
    return [Markup(volume), Markup(rates), Markup(times)]


def _percents(report, rate: str) -> list:
    values = [getattr(g, rate) for g in report.groups]
    return [None if v is None else 100 * v for v in values]


def percent(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def hours(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def when(moment) -> str:
    return "–" if moment is None else f"{local(moment):%Y-%m-%d %H:%M}"
