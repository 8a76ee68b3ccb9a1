"""The `suishoupai` command as an administrator uses it."""

import subprocess
import sys

import psycopg
import pytest
import requests
import yaml
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, ROOT, ScratchDatabase, Service


@pytest.fixture
def cli(tmp_path):
    return Service(instance_dir=tmp_path)


def test_user_add_prints_the_token_last(cli):
    token = cli.add_user("chen", "handler", "water")

    result = cli.cli("user", "add", "li", "--role", "reporter")

    assert len(token) >= 32
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1] != token


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "handler"], "department"),
        (["--role", "handler", "--department", "nowhere"], "nowhere"),
        (["--role", "partner"], "partner"),
        (["--role", "wizard"], "wizard"),
        (["--role", "reporter", "--department", "water"], "only a handler"),
    ],
)
def test_user_add_refuses_what_does_not_fit(cli, args, message):
    result = cli.cli("user", "add", "someone", *args)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_user_import_creates_all_or_none(cli, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "- {name: wang, role: triage}\n"
        "- {name: liu, role: handler, department: water}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: zhao, role: triage}\n- {name: wang, role: triage}\n")

    created = cli.cli("user", "import", str(good))
    refused = cli.cli("user", "import", str(bad))
    again = cli.cli("user", "add", "zhao", "--role", "triage")

    assert created.returncode == 0, created.stderr
    assert [line.split()[0] for line in created.stdout.splitlines()] == ["wang", "liu"]
    assert refused.returncode != 0 and "wang" in refused.stderr
    assert again.returncode == 0, "zhao was not created by the refused import"


def test_imported_token_opens_the_api(cli, tmp_path):
    listing = tmp_path / "users.yaml"
    listing.write_text("- {name: wang, role: triage}\n")
    token = cli.cli("user", "import", str(listing)).stdout.split()[1]
    cli.start()
    try:
        answer = requests.get(
            f"{cli.base_url}/api/v1/tasks",
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200
    finally:
        cli.stop()


@pytest.mark.parametrize("command", [["user", "import"], ["catalogue", "set"]])
def test_a_binary_file_is_refused_as_not_text(cli, tmp_path, command):
    binary = tmp_path / "photo.yaml"
    binary.write_bytes(bytes(range(128, 256)) * 4)

    result = cli.cli(*command, str(binary))

    assert result.returncode != 0
    assert "UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_user_name_with_a_control_character_is_refused(cli, tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text('- {name: "x\\0y", role: triage}\n')

    result = cli.cli("user", "import", str(users))

    assert result.returncode != 0
    assert "printable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SUISHOUPAI_DATABASE_URL", "garbage", "SUISHOUPAI_DATABASE_URL"),
        ("SUISHOUPAI_DATABASE_URL", "mysql://x/y", "SUISHOUPAI_DATABASE_URL"),
        ("SUISHOUPAI_DATABASE_URL", "postgresql://x@127.0.0.1:1/x", "refused"),
        ("SUISHOUPAI_DATABASE_URL", "sqlite:////no/such/dir/x.db", "cannot be used"),
        ("SUISHOUPAI_DATABASE_URL", "sqlite:////etc/passwd", "database"),
        ("SUISHOUPAI_INSTANCE_DIR", "/proc/no-such-dir", "/proc/no-such-dir"),
        ("SUISHOUPAI_PHOTO_DIR", "/etc/passwd", "SUISHOUPAI_PHOTO_DIR"),
        ("SUISHOUPAI_PROCESS_ID", "no_such_process", "no_such_process"),
    ],
)
def test_a_setting_that_cannot_work_stops_a_command_with_a_message(
    cli, setting, value, message
):
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade"],
        cwd=ROOT,
        env={**cli.environment, setting: value},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not POSTGRES_URL, reason="several machines share PostgreSQL")
def test_machines_started_together_on_a_new_database_prepare_it_once(tmp_path):
    scratch = ScratchDatabase()
    try:
        machines = [
            Service(instance_dir=tmp_path / f"machine-{n}", database_url=scratch.url)
            for n in range(3)
        ]
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "service.cli", "db", "upgrade"],
                cwd=ROOT,
                env=machine.environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for machine in machines
        ]
        finished = [process.communicate(timeout=120) for process in started]
        dsn = make_url(scratch.url).set(drivername="postgresql")
        with psycopg.connect(dsn.render_as_string(hide_password=False)) as db:
            versions = db.execute("SELECT count(*) FROM process_versions").fetchone()
    finally:
        scratch.drop()

    assert [process.returncode for process in started] == [0, 0, 0], finished
    assert all("Traceback" not in stderr for _out, stderr in finished)
    assert versions == (1,)


def test_a_port_no_socket_can_have_is_refused(cli):
    result = cli.cli("serve", "--port", "99999")

    assert result.returncode == 2
    assert "--port" in result.stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: [1, 2], role: reporter}", "text"),
        ("{name: li, role: reporter, extra: 1}", "unknown fields extra"),
        ("{name: dd, role: handler, department: {code: water}}", "department"),
        ("{name: dd, role: partner, partner: [bike-platform]}", "partner"),
        ("{1: x}", "unknown fields 1"),
    ],
)
def test_user_import_refuses_entries_that_are_not_users(cli, tmp_path, entry, message):
    users = tmp_path / "users.yaml"
    users.write_text(f"- {entry}\n")

    result = cli.cli("user", "import", str(users))

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_nested_deeper_than_python_reads_is_refused_in_a_line(cli, tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50_000 + "]" * 50_000)

    result = cli.cli("user", "import", str(deep))

    assert result.returncode == 1
    assert "nested too deeply" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_file_that_is_no_database_is_named_not_traced(cli):
    cli.instance_dir.mkdir(parents=True, exist_ok=True)
    (cli.instance_dir / "suishoupai.db").write_bytes(b"not a database " * 100)

    result = cli.cli("user", "add", "li", "--role", "reporter")

    assert result.returncode == 1
    assert "the database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("host", ["a\udcffb", "127.0.0.1:99"])
def test_a_host_that_is_no_host_is_refused(cli, host):
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--host", host],
        cwd=ROOT,
        env=cli.environment,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=60,
    )

    assert result.returncode == 2
    assert "--host" in result.stderr
    assert "Traceback" not in result.stderr


def test_bpmn_check_refuses_an_endless_file_without_reading_it_all(cli):
    result = cli.cli("bpmn", "check", "/dev/zero")

    assert result.returncode != 0
    assert "larger than" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("options", "street", "message"),
    [
        (["--note", "x" * 501], "Tianhe Rd", "note"),
        (["--author", "a\x01b"], "Tianhe Rd", "author"),
        ([], "Tianhe\x07Rd", "entries.0.street"),
    ],
)
def test_catalogue_set_refuses_what_the_api_refuses(
    cli, tmp_path, options, street, message
):
    entries = tmp_path / "catalogue.yaml"
    entries.write_text(
        yaml.safe_dump([{"category": "noise", "department": "water", "street": street}])
    )

    result = cli.cli("catalogue", "set", str(entries), *options)

    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
