"""Downloads of the figures, the board and the open cases as CSV and XLSX files."""

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from service.exports import Column, Table, to_xlsx
from tests.supervision_cases import ZONE, build

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def scenario(service):
    return build(service)


def _download(service, path, media_type, **params):
    response = service.as_("supervisor").get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == media_type
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    return response


def _csv_rows(response) -> list[dict]:
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _sheet_rows(sheet) -> list[dict]:
    """Rows under the header (row 2; row 1 is the title) as dictionaries."""
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _open_escalations(service) -> set:
    response = service.as_("supervisor").get("/api/v1/escalations?open=true")
    return {e["case_number"] for e in response.json()}


def test_stats_csv_parses_back_to_the_figures(service, scenario):
    response = _download(
        service, "/api/v1/stats.csv", CSV_TYPE, by="department", **scenario.period
    )

    rows = _csv_rows(response)
    assert (
        f"stats-{scenario.period['from']}_{scenario.period['to']}-by-department.csv"
        in (response.headers["Content-Disposition"])
    )
    total = rows[-1]
    assert total["部门 department"] == "合计 total"
    assert int(total["收件 received"]) == 5
    assert int(total["结案 closed"]) == 3
    assert float(total["按期结案率 on-time closure rate"]) == pytest.approx(0.4)
    assert float(total["返工率 rework rate"]) == pytest.approx(0.25)
    assert float(total["满意率 satisfaction"]) == pytest.approx(0.75)
    assert int(total["退单 returns"]) == 1
    assert [r["部门 department"] for r in rows[:-1]] == [
        "交警 Traffic police",
        "未分派 unassigned",
    ]


def test_stats_xlsx_has_the_same_figures_with_rates_as_percentages(service, scenario):
    response = _download(
        service, "/api/v1/stats.xlsx", XLSX_TYPE, by="category", **scenario.period
    )

    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert sheet.title == "按类别 By category"
    rows = _sheet_rows(sheet)
    total = rows[-1]
    assert total["收件 received"] == 5
    assert total["结案率 closure rate"] == pytest.approx(0.6)
    rate_column = list(rows[0]).index("结案率 closure rate") + 1
    assert sheet.cell(row=4, column=rate_column).number_format == "0.0%"


def test_board_files_list_every_open_escalation(service, scenario):
    expected = _open_escalations(service)
    assert expected  # C and D are late

    rows = _csv_rows(_download(service, "/api/v1/board.csv", CSV_TYPE))
    assert {r["工单 case"] for r in rows} == expected
    assert {int(r["级别 level"]) for r in rows} <= {1, 2, 3}

    book = load_workbook(
        io.BytesIO(_download(service, "/api/v1/board.xlsx", XLSX_TYPE).content)
    )
    assert book.sheetnames == ["督办看板 Board", "共性问题 Common problems"]
    assert {r["工单 case"] for r in _sheet_rows(book["督办看板 Board"])} == expected


def test_open_cases_files_hold_the_unfinished_cases(service, scenario):
    numbers = scenario.numbers
    rows = _csv_rows(_download(service, "/api/v1/open-cases.csv", CSV_TYPE))
    listed = {r["工单 case"] for r in rows}
    assert {numbers["C"], numbers["D"]} <= listed
    assert not {numbers["A"], numbers["B"], numbers["E"]} & listed
    d = next(r for r in rows if r["工单 case"] == numbers["D"])
    assert d["状态 status"] == "triage"
    assert float(d["纬度 lat"]) == pytest.approx(22.5427)

    book = load_workbook(
        io.BytesIO(_download(service, "/api/v1/open-cases.xlsx", XLSX_TYPE).content)
    )
    sheet_rows = _sheet_rows(book.worksheets[0])
    assert {numbers["C"], numbers["D"]} <= {r["工单 case"] for r in sheet_rows}


def test_weekly_report_is_one_workbook_with_a_sheet_per_view(service, scenario):
    response = _download(
        service, "/api/v1/weekly-report.xlsx", XLSX_TYPE, to=scenario.period["to"]
    )

    assert "weekly-report-" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "概况 Summary",
        "按部门 By department",
        "按类别 By category",
        "按街道 By street",
        "督办看板 Board",
        "共性问题 Common problems",
        "在办工单 Open cases",
    ]
    summary = {
        r["指标 figure"]: r["数值 value"] for r in _sheet_rows(book["概况 Summary"])
    }
    assert summary["收件 received"] == 5
    assert summary["按期结案率 on-time closure rate"] == pytest.approx(0.4)
    assert summary["统计期 period"].endswith(scenario.period["to"])
    assert len(book["按部门 By department"]._charts) == 1


def test_the_weekly_report_covers_the_last_seven_days_by_default(service, scenario):
    response = _download(service, "/api/v1/weekly-report.xlsx", XLSX_TYPE)

    summary = load_workbook(io.BytesIO(response.content))["概况 Summary"]
    first, last = map(date.fromisoformat, summary["B3"].value.split(" – "))
    now = datetime.fromisoformat(service.advance_clock(0)["now"])
    assert last == now.astimezone(ZONE).date()
    assert (last - first).days == 6


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/stats.csv",
        "/api/v1/board.xlsx",
        "/api/v1/open-cases.csv",
        "/api/v1/weekly-report.xlsx",
    ],
)
def test_files_are_for_supervisors_only(service, path):
    response = service.as_("water-liaison").get(path)
    assert response.status_code == 403
    assert response.json()["code"] == 403
    assert service.as_("nobody").get(path).status_code == 401


def test_a_workbook_drops_characters_a_worksheet_cannot_hold():
    table = Table(
        "Open\x0b",
        "Open cases\x07",
        [Column("Address 地址", "text", 30)],
        [["Tianhe Rd\x01 1\x1b"]],
    )

    sheet = load_workbook(io.BytesIO(to_xlsx([table]))).active

    assert sheet["A1"].value == "Open cases"
    assert sheet["A3"].value == "Tianhe Rd 1"


def test_a_workbook_keeps_text_that_looks_like_a_formula_as_text():
    table = Table("Open", "Open cases", [Column("Description", "text", 30)], [["=1+1"]])

    cell = load_workbook(io.BytesIO(to_xlsx([table]))).active["A3"]

    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_reported_formulas_reach_the_files_as_inert_text(service, scenario):
    evil = '=HYPERLINK("http://evil.example","x")'
    response = service.as_("deputy").report(description=evil, address="+1+cmd|calc")
    assert response.status_code == 201, response.text
    number = response.json()["number"]

    rows = _csv_rows(_download(service, "/api/v1/open-cases.csv", CSV_TYPE))
    row = next(r for r in rows if r["工单 case"] == number)
    assert "'" + evil in row.values()
    assert "'+1+cmd|calc" in row.values()

    content = _download(service, "/api/v1/open-cases.xlsx", XLSX_TYPE).content
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    cells = [c for line in sheet.iter_rows(min_row=3) for c in line if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)
