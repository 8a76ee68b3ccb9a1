"""The supervisors' pages: shells that sign in, and views drawn on the server."""

import re
import xml.etree.ElementTree as ElementTree

import pytest

from tests.supervision_cases import build

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def scenario(service):
    return build(service)


def _view(service, name, **params):
    response = service.as_("supervisor").get(
        f"/supervision/views/{name}", params=params
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    return response.text


def _svgs(html: str) -> list:
    """Each inline chart, parsed: they must be well-formed SVG."""
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    return [ElementTree.fromstring(chart) for chart in charts]


@pytest.mark.parametrize(
    "path", ["/supervision/", "/supervision/map", "/supervision/board"]
)
def test_page_shells_sign_in_and_load_nothing_from_elsewhere(service, path):
    response = service.as_(None).get(path)

    assert response.status_code == 200
    page = response.text
    assert 'id="sign-in"' in page
    assert 'id="view"' in page and "/supervision/views/" in page
    assert not EXTERNAL.search(page)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_dashboard_shows_the_figures_and_their_charts(service, scenario):
    html = _view(service, "dashboard", by="department", **scenario.period)

    assert len(_svgs(html)) == 3
    assert re.search(r'id="received">\s*5<', html)
    assert re.search(r'id="on-time-rate">\s*40.0%<', html)
    assert re.search(r'id="closure-rate">\s*60.0%<', html)
    assert re.search(r'id="rework-rate">\s*25.0%<', html)
    assert re.search(r'id="satisfaction">\s*75.0%<', html)
    assert "交警 Traffic police" in html and "按期结案率" in html
    assert not EXTERNAL.search(html)


def test_dashboard_by_street_with_another_quick_limit(service, scenario):
    html = _view(service, "dashboard", by="street", quick_hours=48, **scenario.period)
    assert re.search(r'id="quick-rate">\s*60.0%<', html)


def test_map_draws_every_open_case_coloured_by_level(service, scenario):
    html = _view(service, "map")

    [chart] = _svgs(html)
    circles = chart.findall(".//{http://www.w3.org/2000/svg}circle")
    open_numbers = {scenario.numbers["C"], scenario.numbers["D"]}
    titles = " ".join(c.findtext("{http://www.w3.org/2000/svg}title") for c in circles)
    assert all(number in titles for number in open_numbers)
    assert scenario.numbers["A"] not in html
    assert {c.get("fill") for c in circles} <= {
        "#2f9e44",
        "#f2c200",
        "#f08c00",
        "#d62828",
    }
    assert all(number in html for number in open_numbers)


def test_board_groups_open_escalations_by_level_with_common_problems(service, scenario):
    escalations = service.as_("supervisor").get("/api/v1/escalations?open=true").json()
    html = _view(service, "board")

    assert len(_svgs(html)) == 1
    for escalation in escalations:
        assert escalation["case_number"] in html
        assert f"Level {escalation['level']}" in html
    assert "共性问题 Common problems" in html


def test_views_answer_only_to_a_supervisor_token(service):
    assert service.as_(None).get("/supervision/views/board").status_code == 401
    response = service.as_("deputy").get("/supervision/views/map")
    assert response.status_code == 403
    assert response.json()["code"] == 403


def test_a_bad_period_is_refused_on_the_dashboard(service):
    response = service.as_("supervisor").get(
        "/supervision/views/dashboard",
        params={"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert response.status_code == 422
    assert "to" in response.json()["errors"]
