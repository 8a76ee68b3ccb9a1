"""When PostgreSQL drops the service's connections: a 503 at most, never a 500."""

import time

import pytest

from tests.conftest import POSTGRES_URL, USERS, ScratchDatabase, Service

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL")


def _serve(folder, scratch, **settings) -> Service:
    service = Service(
        instance_dir=folder,
        database_url=scratch.url,
        settings={"SUISHOUPAI_SCHEDULER": "0", **settings},
    )
    service.import_users(USERS)
    service.start()
    return service


def _cut_connections(scratch: ScratchDatabase) -> None:
    """What a database restart does to the connections a service holds."""
    scratch._admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{scratch.name}' AND pid <> pg_backend_pid()"
    )


def _queue(service: Service):
    return service.as_("office").get("/api/v1/tasks", params={"queue": "available"})


@pytest.fixture
def scratch():
    database = ScratchDatabase()
    yield database
    database.drop()


def test_a_call_that_meets_a_cut_connection_answers_503_and_the_next_one_works(
    tmp_path, scratch
):
    service = _serve(tmp_path, scratch)
    try:
        assert _queue(service).status_code == 200

        _cut_connections(scratch)
        refused = _queue(service)
        again = _queue(service)
    finally:
        service.stop()

    assert refused.status_code == 503
    assert refused.json()["message"] == (
        "the database does not answer; try again shortly"
    )
    assert again.status_code == 200
    assert "the database did not answer" in service.log()


def test_a_connection_idle_past_the_ping_time_is_replaced_before_any_call_fails(
    tmp_path, scratch
):
    service = _serve(tmp_path, scratch, SUISHOUPAI_DB_IDLE_PING_SECONDS="0.2")
    try:
        deputy = service.as_("deputy")
        assert deputy.report().status_code == 201

        _cut_connections(scratch)
        time.sleep(0.5)
        reported = deputy.report()
    finally:
        service.stop()

    assert reported.status_code == 201, reported.text
    assert "the database did not answer" not in service.log()


def test_a_health_check_that_meets_a_cut_connection_answers_503_in_one_log_line(
    tmp_path, scratch
):
    service = _serve(tmp_path, scratch)
    try:
        probe = service.as_(None)
        assert probe.get("/healthz").status_code == 200

        _cut_connections(scratch)
        checked = probe.get("/healthz")
    finally:
        service.stop()

    assert checked.status_code == 503
    assert "health check: the database does not answer" in service.log()
    service.assert_no_traceback()
