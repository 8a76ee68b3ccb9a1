"""The supervision views as tables, written as CSV or as an XLSX workbook.

Headers are Chinese with English beside, as on the pages. Times are written in the
district's time zone; rates as fractions (XLSX shows them as percentages).
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from service.board import (
    LEVEL_NAMES,
    Board,
    OpenCase,
    category_labels,
    department_labels,
    load_board,
    open_cases,
)
from service.stats import (
    GROUPINGS,
    STAGES,
    ZONE,
    Figures,
    Period,
    StatsReport,
    compute,
)
from workflows.clock import clock

CSV_TYPE = "text/csv; charset=utf-8"
# What makes a spreadsheet read a CSV cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAGE_NAMES = {
    "triage": "甄别分类 triage",
    "handling": "办理 handling",
    "confirming": "核查确认 confirming",
}
BY_NAMES = {
    "department": "部门 department",
    "category": "类别 category",
    "street": "街道 street",
}


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text, count, rate, hours, time, number
    width: int = 14


@dataclass
class Table:
    """One view as rows of values, with a sheet name and a title."""

    sheet: str
    title: str
    columns: list[Column]
    rows: list[list]


def local(moment: datetime | None) -> datetime | None:
    """A moment in the district's zone without its zone, for a spreadsheet cell."""
    return moment.astimezone(ZONE).replace(tzinfo=None) if moment else None


# The views as tables


def stats_table(report: StatsReport) -> Table:
    """One row per group and a total row: the counts, the rates, the stage times."""
    columns = [
        Column(BY_NAMES[report.by], width=24),
        Column("收件 received", "count"),
        Column("结案 closed", "count"),
        Column("应结 due to close", "count"),
        Column("延期 deferred", "count"),
        Column("按期结案 closed on time", "count"),
        Column("按期结案率 on-time closure rate", "rate", 16),
        Column("结案率 closure rate", "rate"),
        Column(
            f"{report.quick_hours:g}小时内办结 fixed within {report.quick_hours:g} h",
            "count",
        ),
        Column("立即整改率 fixed-at-once rate", "rate", 16),
        Column("返工 disputed", "count"),
        Column("办结反馈 results reported", "count"),
        Column("返工率 rework rate", "rate"),
        Column("退单 returns", "count"),
        Column("满意 confirmed", "count"),
        Column("满意率 satisfaction", "rate"),
    ]
    for stage in STAGES:
        name = STAGE_NAMES[stage]
        columns += [
            Column(f"{name} 均时 mean hours", "hours", 16),
            Column(f"{name} P90 hours", "hours", 16),
        ]

    def row(figures: Figures) -> list:
        values = [
            figures.label,
            figures.received,
            figures.closed,
            figures.due,
            figures.deferred,
            figures.on_time,
            figures.on_time_rate,
            figures.closure_rate,
            figures.fixed_quickly,
            figures.quick_rate,
            figures.disputed,
            figures.handled,
            figures.rework_rate,
            figures.returns,
            figures.confirmed,
            figures.satisfaction,
        ]
        for stage in STAGES:
            times = figures.stages.get(stage)
            values += [times and times.mean_hours, times and times.p90_hours]
        return values

    rows = [row(f) for f in report.groups] + [row(report.totals)]
    return Table(
        f"按{BY_NAMES[report.by].split()[0]} By {report.by}",
        f"统计 Figures {report.period}, by {report.by}",
        columns,
        rows,
    )


def board_table(board: Board, categories: dict) -> Table:
    columns = [
        Column("级别 level", "number", 8),
        Column("级别名称 level name", width=18),
        Column("部门 department", width=22),
        Column("工单 case", width=22),
        Column("类别 category", width=22),
        Column("环节 stage"),
        Column("原因 reason", width=50),
        Column("提出时间 raised at", "time", 18),
        Column("共性问题 common problem", "number", 10),
    ]
    rows = [
        [
            e.level,
            LEVEL_NAMES.get(e.level, str(e.level)),
            board.department_label(e.department),
            e.case_number,
            categories.get(e.category, e.category),
            STAGE_NAMES.get(e.stage, e.stage),
            e.reason,
            e.raised_at,
            e.common_problem,
        ]
        for e in board.entries
    ]
    return Table("督办看板 Board", "督办看板 Escalation board", columns, rows)


def problems_table(board: Board, categories: dict) -> Table:
    columns = [
        Column("编号 id", "number", 8),
        Column("类别 category", width=22),
        Column("部门 department", width=22),
        Column("纬度 lat", "number", 10),
        Column("经度 lng", "number", 10),
        Column("建议 suggestion", width=50),
        Column("开始 opened at", "time", 18),
        Column("工单 cases", width=40),
    ]
    rows = [
        [
            p.id,
            categories.get(p.category, p.category),
            board.department_label(p.department),
            p.lat,
            p.lng,
            p.suggestion,
            p.opened_at,
            " ".join(p.cases),
        ]
        for p in board.problems
    ]
    return Table("共性问题 Common problems", "共性问题 Common problems", columns, rows)


def open_cases_table(cases: list[OpenCase], departments: dict, categories: dict):
    columns = [
        Column("工单 case", width=22),
        Column("状态 status"),
        Column("级别 level", "number", 8),
        Column("部门 department", width=22),
        Column("类别 category", width=22),
        Column("上报时间 reported at", "time", 18),
        Column("本环节期限 stage due at", "time", 18),
        Column("纬度 lat", "number", 10),
        Column("经度 lng", "number", 10),
        Column("街道 street", width=16),
        Column("地址 address", width=30),
        Column("描述 description", width=50),
    ]
    rows = [
        [
            c.number,
            c.status,
            c.escalation_level,
            departments.get(c.department, c.department),
            categories.get(c.category, c.category),
            c.created_at,
            c.due_at,
            c.lat,
            c.lng,
            c.street,
            c.address,
            c.description,
        ]
        for c in cases
    ]
    return Table("在办工单 Open cases", "在办工单 Open cases", columns, rows)


def summary_table(report: StatsReport, generated_at: datetime) -> Table:
    """The week on one sheet: the period and the totals, one figure a row."""
    totals = report.totals
    figures = [
        ("统计期 period", str(report.period), "text"),
        ("生成时间 generated at", generated_at, "time"),
        ("收件 received", totals.received, "count"),
        ("结案 closed", totals.closed, "count"),
        ("按期结案率 on-time closure rate", totals.on_time_rate, "rate"),
        ("结案率 closure rate", totals.closure_rate, "rate"),
        (
            f"立即整改率 fixed within {report.quick_hours:g} h",
            totals.quick_rate,
            "rate",
        ),
        ("返工率 rework rate", totals.rework_rate, "rate"),
        ("退单 returns", totals.returns, "count"),
        ("满意率 satisfaction", totals.satisfaction, "rate"),
    ]
    for stage in STAGES:
        times = totals.stages[stage]
        figures.append(
            (f"{STAGE_NAMES[stage]} 均时 mean hours", times.mean_hours, "hours")
        )
        figures.append((f"{STAGE_NAMES[stage]} P90 hours", times.p90_hours, "hours"))
    columns = [Column("指标 figure", width=36), Column("数值 value", "mixed", 24)]
    rows = [[name, (value, kind)] for name, value, kind in figures]
    return Table("概况 Summary", f"周报 Weekly report {report.period}", columns, rows)


# Writers


def _csv_value(value, kind: str):
    if isinstance(value, tuple):
        value, kind = value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(ZONE).isoformat(timespec="seconds")
    if kind == "rate":
        return f"{value:.4f}"
    if kind == "hours":
        return f"{value:.2f}"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        # A spreadsheet would run a reported "=HYPERLINK(...)" as a formula.
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow(
            [_csv_value(v, c.kind) for v, c in zip(row, table.columns, strict=True)]
        )
    return buffer.getvalue().encode("utf-8-sig")


_FORMATS = {
    "rate": "0.0%",
    "hours": "0.00",
    "time": "yyyy-mm-dd hh:mm",
    "count": "0",
}
_HEADER_FILL = PatternFill("solid", start_color="DDE7F3")


def to_xlsx(tables: list[Table], charts: dict | None = None) -> bytes:
    """A workbook with a sheet per table; `charts` maps a sheet to bar columns."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.sheet))
        _fill(sheet, table)
        for first, last, title in (charts or {}).get(table.sheet, ()):
            _bar_chart(sheet, table, first, last, title)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(name: str) -> str:
    name = ILLEGAL_CHARACTERS_RE.sub("", name)
    for forbidden in "[]:*?/\\":
        name = name.replace(forbidden, " ")
    return name[:31]


def _cell(value):
    """A value as a cell holds it; characters a worksheet cannot hold are dropped."""
    if isinstance(value, datetime):
        return local(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _fill(sheet, table: Table) -> None:
    sheet.append([_cell(table.title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([c.header for c in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.rows:
        values, kinds = [], []
        for value, column in zip(row, table.columns, strict=True):
            kind = column.kind
            if isinstance(value, tuple):
                value, kind = value
            values.append(_cell(value))
            kinds.append(kind)
        sheet.append(values)
        for cell, kind in zip(sheet[sheet.max_row], kinds, strict=True):
            if kind in _FORMATS:
                cell.number_format = _FORMATS[kind]
            if cell.data_type == "f":
                # Reported text that begins with "=" stays text, never a formula.
                cell.data_type = "s"
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "B3"


def _bar_chart(sheet, table: Table, first: int, last: int, title: str) -> None:
    """A native bar chart of columns first..last (1-based) over the group rows."""
    groups = len(table.rows) - 1  # the last row is the total
    if groups < 1:
        return
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.height = max(7.5, 1.2 * groups)
    chart.width = 18
    data = Reference(sheet, min_col=first, max_col=last, min_row=2, max_row=2 + groups)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=3, max_row=2 + groups))
    sheet.add_chart(chart, f"A{len(table.rows) + 5}")


# Whole files


def weekly_workbook(
    session: Session, period: Period, quick_hours: float, now: datetime
) -> bytes:
    """The weekly report: a summary, the figures by each grouping, the board, the
    common problems and the open cases, a sheet each."""
    reports = {by: compute(session, period, by, quick_hours, now) for by in GROUPINGS}
    board = load_board(session)
    departments, categories = department_labels(session), category_labels(session)
    by_department = stats_table(reports["department"])
    tables = [
        summary_table(reports["department"], now),
        *(stats_table(reports[by]) for by in GROUPINGS),
        board_table(board, categories),
        problems_table(board, categories),
        open_cases_table(open_cases(session), departments, categories),
    ]
    charts = {by_department.sheet: [(2, 3, "收件与结案 Received and closed")]}
    return to_xlsx(tables, charts)


def file_name(view: str, extension: str, period: Period | None = None, by=None) -> str:
    """A name that says what the file holds: the view, its period or day, grouping."""
    if period is None:
        return f"{view}-{local(clock.now()):%Y-%m-%d}.{extension}"
    suffix = f"-by-{by}" if by else ""
    return f"{view}-{period.first:%Y-%m-%d}_{period.last:%Y-%m-%d}{suffix}.{extension}"
