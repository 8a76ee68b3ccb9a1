"""`suishoupai simulate`: hotline exports and our own cases under two policies."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from tests.conftest import CORPUS, ROOT

HOUR = 3600
EXAMPLE = ROOT / "examples" / "policy.yaml"
BOSTON = CORPUS / "311" / "boston311_100.csv"
NYC = CORPUS / "311" / "nyc311_2024-04-16_1000.csv"
SVG = "{http://www.w3.org/2000/svg}svg"


def simulate(tmp_path, *args) -> subprocess.CompletedProcess:
    """The command with no database of its own: the shipped defaults are current."""
    environment = {
        **os.environ,
        "SUISHOUPAI_INSTANCE_DIR": str(tmp_path / "instance"),
        "PYTHONWARNINGS": "ignore",
    }
    environment.pop("SUISHOUPAI_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "simulate", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def table(output: str) -> dict:
    """Rows of the printed table: department -> [cases, late, L1, L2, L3] * 2."""
    rows = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 10 and all(word.isdigit() for word in words[1:]):
            rows[words[0]] = [int(word) for word in words[1:]]
    return rows


def test_boston_export_is_replayed_by_department_under_both_policies(tmp_path):
    chart = tmp_path / "boston.svg"
    result = simulate(
        tmp_path, "--policy", str(EXAMPLE), "--csv", str(BOSTON), "--chart", str(chart)
    )

    assert result.returncode == 0, result.stderr
    assert "current policy" in result.stdout and "new policy" in result.stdout
    rows = table(result.stdout)
    assert {"BTDT", "PWDx", "ISD", "total"} <= set(rows)
    assert rows["total"][0] == 100
    assert sum(rows[d][0] for d in rows if d != "total") == 100
    late_now, late_new = rows["total"][1], rows["total"][5]
    assert 0 < late_now <= late_new  # the example policy is stricter
    root = ElementTree.parse(chart).getroot()
    assert root.tag == SVG
    assert "PWDx" in chart.read_text(encoding="utf-8")
    assert "chart written to" in result.stderr


def test_nyc_export_with_multiline_fields_and_blank_places_is_replayed(tmp_path):
    chart = tmp_path / "nyc.svg"
    result = simulate(
        tmp_path,
        "--policy",
        str(EXAMPLE),
        "--csv",
        str(NYC),
        "--to",
        "2024-04-30",
        "--chart",
        str(chart),
    )

    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert rows["total"][0] == 1000
    assert {"NYPD", "HPD", "DOT"} <= set(rows)
    # Replayed to the end of April, every request still open (708) is late.
    assert rows["total"][1] == 708
    late, level1, level2 = rows["total"][1:4]
    assert level1 + level2 == late
    assert "common problems:" in result.stdout
    assert ElementTree.parse(chart).getroot().tag == SVG


def test_a_period_selects_the_requests_opened_in_it(tmp_path):
    result = simulate(
        tmp_path,
        "--policy",
        str(EXAMPLE),
        "--csv",
        str(BOSTON),
        "--from",
        "2022-01-20",
        "--to",
        "2022-01-21",
        "--chart",
        str(tmp_path / "c.svg"),
    )

    assert result.returncode == 0, result.stderr
    assert 0 < table(result.stdout)["total"][0] < 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("categories: {noise: [1\n", "is not valid YAML"),
        ("supervison_factor: 3\n", "unknown key 'supervison_factor'"),
        ("categories:\n  noise:\n    handling: 4 weeks\n", "unknown time unit"),
        ("categories:\n  noise: 4 hours\n", "categories.noise maps stages"),
        ("common_problem:\n  min_cases: none\n", "must be a positive number"),
        ("categories:\n  noise:\n    handling: true\n", "categories.noise maps"),
        ("supervision_on_return: 1.5\n", "a whole number"),
        ("supervision_factor: .inf\n", "must be finite"),
    ],
)
def test_a_bad_policy_file_fails_with_a_message_and_no_traceback(
    tmp_path, text, message
):
    policy = tmp_path / "bad.yaml"
    policy.write_text(text, encoding="utf-8")
    result = simulate(tmp_path, "--policy", str(policy), "--csv", str(BOSTON))

    assert result.returncode != 0
    assert "Error:" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_period_that_ends_before_it_starts_is_refused(tmp_path):
    result = simulate(
        tmp_path,
        *("--policy", str(EXAMPLE), "--csv", str(BOSTON)),
        *("--from", "2026-12-05", "--to", "2026-11-01"),
    )

    assert result.returncode == 2
    assert "ends before it starts" in result.stderr


def test_missing_inputs_fail_with_a_message(tmp_path):
    missing = simulate(tmp_path, "--policy", str(tmp_path / "none.yaml"))
    assert missing.returncode != 0
    assert "does not exist" in missing.stderr

    no_database = simulate(tmp_path, "--policy", str(EXAMPLE))
    assert no_database.returncode != 0
    assert "no database" in no_database.stderr
    assert "Traceback" not in no_database.stderr


def test_the_database_cases_are_replayed_with_their_stage_times(own_service, tmp_path):
    service = own_service
    for _ in range(2):
        number = service.as_("deputy").report(category="shared-bikes").json()["number"]
        office = service.as_("office")
        task = office.task_of(number, "triage")
        dispatched = office.complete(
            task["id"],
            decision="dispatch",
            category="shared-bikes",
            department="traffic-police",
        )
        assert dispatched.status_code == 200, dispatched.text
    service.advance_clock(5 * HOUR)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(
        "categories:\n  shared-bikes:\n    handling: 8 hours\n", encoding="utf-8"
    )

    chart = tmp_path / "db.svg"
    result = service.cli("simulate", "--policy", str(lenient), "--chart", str(chart))

    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    # Handling is 5 hours old: late on 4 hours, not on 8; triage was done at once.
    assert rows["traffic-police"][:2] == [2, 2]
    assert rows["traffic-police"][5] == 0
    assert "database categories" in result.stderr
    assert ElementTree.parse(chart).getroot().tag == SVG
