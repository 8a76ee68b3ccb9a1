"""Admins edit the categories' time limits and the local calendar days."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_admin_sets_a_category_limit_in_working_days(service):
    admin = service.as_("admin")

    changed = admin.http.patch(
        f"{admin.base_url}/api/v1/categories/garbage-sorting",
        json={"limits": {"handling": "2 working_days", "confirming": "36 hours"}},
    )

    assert changed.status_code == 200, changed.text
    limits = changed.json()["limits"]
    assert (limits["handling_hours"], limits["handling_unit"]) == (18, "working_days")
    assert (limits["confirm_hours"], limits["confirm_unit"]) == (36, "hours")


def test_only_admins_edit_categories_and_bad_limits_are_named(service):
    url = f"{service.base_url}/api/v1/categories/noise"
    office, admin = service.as_("office"), service.as_("admin")

    assert (
        office.http.patch(url, json={"limits": {"triage": "1 hours"}}).status_code
        == 403
    )
    bad = admin.http.patch(url, json={"limits": {"triage": "soon"}})
    assert bad.status_code == 422
    assert (
        admin.http.patch(f"{service.base_url}/api/v1/categories/x", json={}).status_code
        == 404
    )


def test_local_days_off_push_working_deadlines_past_them(own_service):
    service = own_service
    admin = service.as_("admin")
    today = datetime.now(SHANGHAI).date()
    days_off = [today + timedelta(days=n) for n in range(15)]
    for day in days_off:
        marked = admin.put(
            f"/api/v1/calendar/days/{day}", json={"workday": False, "note": "flood"}
        )
        assert marked.status_code == 200, marked.text

    number = service.as_("deputy").report(category="city-appearance").json()["number"]
    due = datetime.fromisoformat(
        service.as_("supervisor").case(number)["deadline"]["due_at"]
    ).astimezone(SHANGHAI)

    assert due.date() > days_off[-1]
    listed = [
        date.fromisoformat(d["day"]) for d in admin.get("/api/v1/calendar/days").json()
    ]
    assert listed == days_off
    assert admin.delete(f"/api/v1/calendar/days/{today}").status_code == 204
    assert (
        service.as_("office")
        .put(f"/api/v1/calendar/days/{today}", json={"workday": True})
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    "day", ["1999-12-31", "2100-01-01", "20261201", "2026-W49-5", "２０２６-12-01"]
)
def test_a_calendar_day_outside_the_calendar_or_its_format_is_refused(service, day):
    admin = service.as_("admin")
    before = admin.get("/api/v1/calendar/days").json()

    response = admin.put(f"/api/v1/calendar/days/{day}", json={"workday": False})

    assert response.status_code == 422, response.text
    assert "day" in response.json()["errors"]
    assert admin.get("/api/v1/calendar/days").json() == before
