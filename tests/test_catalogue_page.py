"""The dispatch catalogue page: admins publish a version, triage reads it."""

import html

from tests.test_staff_pages import signed_in


def test_admin_publishes_a_catalogue_version_from_the_page(service):
    admin = signed_in(service, "admin")
    page = admin.get("/staff/catalogue/?lang=en")
    assert page.status_code == 200
    rows = page.text.count('name="street"')

    published = admin.post(
        "/staff/catalogue/",
        {
            "category": ["noise"] * 1 + [""] * 2,
            "street": ["Shipai 石牌", "", ""],
            "department": ["housing", "", ""],
            "note": "Shipai noise goes to housing",
        },
        allow_redirects=True,
    )

    assert published.status_code == 200, published.text
    assert 'id="published"' in published.text
    api = service.as_("admin").get("/api/v1/catalogue").json()
    assert api["note"] == "Shipai noise goes to housing"
    assert {(e["category"], e["street"], e["department"]) for e in api["entries"]} == {
        ("noise", "Shipai 石牌", "housing")
    }
    assert rows >= 3


def test_triage_reads_the_catalogue_but_cannot_publish(service):
    office = signed_in(service, "office")

    page = office.get("/staff/catalogue/")
    refused = office.post(
        "/staff/catalogue/", {"category": "noise", "department": "water"}
    )

    assert page.status_code == 200
    assert 'id="publish"' not in page.text
    assert refused.status_code == 403


def test_admin_removes_an_entry_from_the_page(service):
    admin = signed_in(service, "admin")
    service.as_("admin").put(
        "/api/v1/catalogue",
        json={
            "entries": [
                {"category": "noise", "department": "water"},
                {"category": "noise", "street": "Shipai 石牌", "department": "housing"},
            ]
        },
    ).raise_for_status()
    page = admin.get("/staff/catalogue/?lang=en")
    assert page.text.count('name="remove"') == 2

    published = admin.post(
        "/staff/catalogue/",
        {
            "category": ["noise", "noise", "", ""],
            "street": ["", "Shipai 石牌", "", ""],
            "department": ["water", "housing", "", ""],
            "remove": ["1"],
        },
        allow_redirects=True,
    )

    assert published.status_code == 200, published.text
    api = service.as_("admin").get("/api/v1/catalogue").json()
    assert [(e["category"], e["street"], e["department"]) for e in api["entries"]] == [
        ("noise", None, "water")
    ]


def test_publishing_what_is_in_force_publishes_nothing(service):
    admin = signed_in(service, "admin")
    in_force = service.as_("admin").get("/api/v1/catalogue").json()

    answer = admin.post(
        "/staff/catalogue/?lang=en",
        {
            "category": [e["category"] for e in in_force["entries"]],
            "street": [e["street"] or "" for e in in_force["entries"]],
            "department": [e["department"] for e in in_force["entries"]],
        },
        allow_redirects=True,
    )

    assert answer.status_code == 200, answer.text
    assert 'id="unchanged"' in answer.text
    after = service.as_("admin").get("/api/v1/catalogue").json()
    assert after["version"] == in_force["version"]


def test_a_row_that_does_not_fit_is_named_and_what_was_typed_stays(service):
    admin = signed_in(service, "admin")
    admin.get("/staff/catalogue/?lang=en")
    before = service.as_("admin").get("/api/v1/catalogue").json()

    refused = admin.post(
        "/staff/catalogue/",
        {
            "category": ["noise", "nope", ""],
            "street": ["Liede 猎德", "", "Shipai"],
            "department": ["housing", "water", ""],
        },
    )

    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Row 2: unknown category 'nope'" in text
    assert "Row 3: unknown category" in text
    assert 'value="Liede 猎德"' in text
    assert service.as_("admin").get("/api/v1/catalogue").json() == before


def test_a_form_whose_columns_do_not_line_up_publishes_nothing(service):
    admin = signed_in(service, "admin")
    admin.get("/staff/catalogue/?lang=en")
    before = service.as_("admin").get("/api/v1/catalogue").json()

    refused = admin.post(
        "/staff/catalogue/",
        {
            "category": ["noise", "shared-bikes"],
            "street": [""],
            "department": ["water", "traffic-police"],
        },
    )

    assert refused.status_code == 422
    assert service.as_("admin").get("/api/v1/catalogue").json() == before
