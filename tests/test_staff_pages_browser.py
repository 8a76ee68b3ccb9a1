"""Staff pages in headless Chromium against the real server: triage and handling."""

import pytest

from tests.chromium import chromium, needs_chromium
from tests.conftest import PHOTOS

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as seen  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = needs_chromium
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser():
    with chromium("1280,900", "--lang=en-US") as driver:
        yield driver


def as_phone(browser):
    """A 390 x 844 window, as a phone shows the pages."""
    browser.set_window_size(PHONE["width"], PHONE["height"])
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {**PHONE, "deviceScaleFactor": 3, "mobile": True},
    )


def sign_in(browser, service, name, lang="en"):
    browser.delete_all_cookies()
    browser.get(f"{service.base_url}/signin?lang={lang}")
    WebDriverWait(browser, 20).until(
        seen.visibility_of_element_located((By.ID, "token"))
    ).send_keys(service.tokens[name])
    browser.find_element(By.ID, "sign-in-button").click()
    WebDriverWait(browser, 20).until(lambda d: page_of(d) not in ("signin", None))


def page_of(browser) -> str | None:
    # Read by script: an element found before a navigation goes stale after it.
    return browser.execute_script("return document.body && document.body.dataset.page")


def wait_page(browser, name, timeout=30):
    WebDriverWait(browser, timeout).until(lambda d: page_of(d) == name)


def flash_text(browser) -> str:
    return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".flash"))


def fits_the_screen(browser) -> bool:
    return browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    )


def open_decision(browser, name):
    details = browser.find_element(By.ID, f"decision-{name}")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    return details


def open_task_from_queue(browser, service, number, queue="available"):
    browser.get(f"{service.base_url}/staff/?queue={queue}")
    wait_page(browser, "queue")
    card = browser.find_element(By.CSS_SELECTOR, f'#tasks li[data-case="{number}"] a')
    card.click()
    wait_page(browser, "task")


def claim(browser, name):
    browser.find_element(By.ID, "claim").click()
    WebDriverWait(browser, 20).until(
        lambda d: (
            d.execute_script(
                "const state = document.getElementById('task-state');"
                "return state && state.dataset.assignee"
            )
            == name
        )
    )


def test_triage_claims_and_dispatches_a_report(browser, service):
    number = service.as_("deputy").report(category="noise").json()["number"]

    sign_in(browser, service, "office")
    open_task_from_queue(browser, service, number)
    suggested = browser.find_element(By.ID, "suggestion").get_attribute(
        "data-department"
    )
    claim(browser, "office")
    open_decision(browser, "dispatch")
    Select(browser.find_element(By.ID, "dispatch-category")).select_by_value(
        "water-environment"
    )
    Select(browser.find_element(By.ID, "dispatch-department")).select_by_value("water")
    browser.find_element(By.ID, "dispatch-note").send_keys("Standing water, not noise")
    browser.find_element(By.ID, "complete-dispatch").click()
    wait_page(browser, "queue")

    assert suggested == "city-management"
    assert number in flash_text(browser)
    case = service.as_("office").case(number)
    assert (case["status"], case["department"]) == ("handling", "water")
    actions = [e["action"] for e in case["timeline"]]
    assert actions[-2:] == ["claimed", "dispatched"]


def test_a_handler_finishes_with_a_photo(browser, service):
    number = service.as_("deputy").report().json()["number"]
    office = service.as_("office")
    triage = office.task_of(number, "triage")
    office.complete(triage["id"], decision="dispatch", category="water-environment")

    sign_in(browser, service, "water-liaison")
    open_task_from_queue(browser, service, number)
    claim(browser, "water-liaison")
    open_decision(browser, "done")
    browser.find_element(By.ID, "done-result").send_keys("Drain cleared 已疏通")
    browser.find_element(By.ID, "done-photos").send_keys(str(PHOTOS / "rocket.jpg"))
    browser.find_element(By.ID, "complete-done").click()
    wait_page(browser, "queue")

    assert number in flash_text(browser)
    case = service.as_("water-liaison").case(number)
    assert case["status"] == "confirming"
    assert [p["kind"] for p in case["photos"]] == ["report", "feedback"]
    handled = next(e for e in case["timeline"] if e["action"] == "handled")
    assert handled["note"] == "Drain cleared 已疏通" and handled["photo_ids"]


def test_a_missing_reason_is_marked_on_its_field(browser, service):
    number = service.as_("deputy").report().json()["number"]

    sign_in(browser, service, "office")
    open_task_from_queue(browser, service, number)
    open_decision(browser, "reject")
    # The browser would stop an empty required field; the service must say it too.
    browser.execute_script(
        "document.getElementById('reject-reason').removeAttribute('required')"
    )
    browser.find_element(By.ID, "complete-reject").click()
    error = WebDriverWait(browser, 20).until(
        seen.visibility_of_element_located((By.ID, "error-reject-reason"))
    )

    assert error.text == "Required."
    assert browser.find_element(By.ID, "page-error").get_attribute("data-status") == (
        "422"
    )


def test_staff_pages_fit_a_phone_screen(browser, service):
    number = (
        service.as_("deputy")
        .report(
            description="A very long description without spaces " + "排水口" * 80,
            address="Tianhe-Road-" + "x" * 200,
            lat="23.1291",
            lng="113.3612",
        )
        .json()["number"]
    )
    as_phone(browser)

    sign_in(browser, service, "office", lang="zh")
    browser.get(f"{service.base_url}/staff/?queue=available&sort=age")
    browser.find_element(By.CSS_SELECTOR, "#filters summary").click()
    queue_fits = fits_the_screen(browser)
    open_task_from_queue(browser, service, number)
    open_decision(browser, "dispatch")
    task_fits = fits_the_screen(browser)
    width = browser.execute_script("return window.innerWidth")

    assert width == PHONE["width"]
    assert queue_fits and task_fits
    assert browser.find_element(By.ID, "geo-link").get_attribute("href") == (
        "geo:23.129100,113.361200"
    )
