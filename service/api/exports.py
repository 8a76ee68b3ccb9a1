"""The supervision views as files: CSV and XLSX downloads, and the weekly report."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from service.api import attachment, db_session
from service.api.stats import PeriodQuerySchema, StatsQuerySchema, period_of
from service.auth import require_role
from service.board import category_labels, department_labels, load_board, open_cases
from service.exports import (
    CSV_TYPE,
    XLSX_TYPE,
    board_table,
    file_name,
    open_cases_table,
    problems_table,
    stats_table,
    to_csv,
    to_xlsx,
    weekly_workbook,
)
from service.stats import compute
from workflows.clock import clock

blp = Blueprint(
    "exports",
    __name__,
    url_prefix="/api/v1",
    description="Supervision views as CSV and XLSX files",
)
FILE = {"type": "string", "format": "binary"}
FORMATS = "<any(csv, xlsx):file_format>"
WEEK = 7
EITHER = {
    "200": {
        "description": "a CSV or an XLSX file, as the path ends",
        "content": {CSV_TYPE: {"schema": FILE}, XLSX_TYPE: {"schema": FILE}},
    }
}


def download(content: bytes, name: str) -> Response:
    media_type = CSV_TYPE if name.endswith(".csv") else XLSX_TYPE
    return Response(
        content,
        content_type=media_type,
        headers={"Content-Disposition": attachment(name)},
    )


def tables_file(tables, file_format: str, name: str) -> Response:
    """CSV holds the first table; XLSX holds each on a sheet."""
    if file_format == "csv":
        return download(to_csv(tables[0]), name)
    return download(to_xlsx(tables), name)


@blp.route(f"/stats.{FORMATS}")
class StatsFile(MethodView):
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.doc(responses=EITHER)
    def get(self, query, file_format):
        """The figures of GET /stats as a table: a row per group and a total row"""
        require_role("supervisor")
        period = period_of(query)
        report = compute(db_session(), period, query["by"], query["quick_hours"])
        name = file_name("stats", file_format, period, query["by"])
        return tables_file([stats_table(report)], file_format, name)


@blp.route(f"/board.{FORMATS}")
class BoardFile(MethodView):
    @blp.doc(responses=EITHER)
    def get(self, file_format):
        """Open escalations; XLSX adds the common problems on a second sheet"""
        require_role("supervisor")
        session = db_session()
        board, categories = load_board(session), category_labels(session)
        tables = [board_table(board, categories), problems_table(board, categories)]
        return tables_file(tables, file_format, file_name("board", file_format))


@blp.route(f"/open-cases.{FORMATS}")
class OpenCasesFile(MethodView):
    @blp.doc(responses=EITHER)
    def get(self, file_format):
        """Every open case with its level, department, stage deadline and place"""
        require_role("supervisor")
        session = db_session()
        table = open_cases_table(
            open_cases(session), department_labels(session), category_labels(session)
        )
        return tables_file([table], file_format, file_name("open-cases", file_format))


@blp.route("/weekly-report.xlsx")
class WeeklyReport(MethodView):
    @blp.arguments(PeriodQuerySchema, location="query")
    @blp.response(200, FILE, content_type=XLSX_TYPE)
    def get(self, query):
        """The weekly report (周报), the 7 days to `to` by default: a sheet per view"""
        require_role("supervisor")
        session = db_session()
        period = period_of(query, days=WEEK)
        content = weekly_workbook(session, period, query["quick_hours"], clock.now())
        return download(content, file_name("weekly-report", "xlsx", period))
