"""Staff pages in headless Chromium: a liaison asks for more time (延期) and triage
approves it; the queue filtered near the phone's position."""

from datetime import datetime, timedelta

import pytest

from service.i18n import ZONE
from tests.chromium import chromium, needs_chromium

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = needs_chromium
URGENT = "shared-bikes"


@pytest.fixture
def browser():
    with chromium("1280,900", "--lang=en-US") as driver:
        yield driver


def sign_in(browser, service, name):
    browser.delete_all_cookies()
    browser.get(f"{service.base_url}/signin?lang=en")
    wait_page(browser, "signin")
    browser.find_element(By.ID, "token").send_keys(service.tokens[name])
    browser.find_element(By.ID, "sign-in-button").click()
    WebDriverWait(browser, 20).until(lambda d: page_of(d) not in ("signin", None))


def page_of(browser) -> str | None:
    # Read by script: an element found before a navigation goes stale after it.
    return browser.execute_script("return document.body && document.body.dataset.page")


def wait_page(browser, name, timeout=30):
    WebDriverWait(browser, timeout).until(lambda d: page_of(d) == name)


def click_and_wait(browser, element, page):
    """Click what sends a form, then wait for the answer to replace this page."""
    browser.execute_script("document.body.dataset.page = 'leaving'")
    element.click()
    wait_page(browser, page)


def state_of(browser, request_id) -> str | None:
    return browser.execute_script(
        "const item = document.getElementById(arguments[0]);"
        "return item && item.dataset.state",
        f"extension-{request_id}",
    )


def test_a_liaison_asks_for_time_and_triage_approves_it(browser, service):
    number = service.as_("deputy").report(category=URGENT).json()["number"]
    office = service.as_("office")
    triage = office.task_of(number, "triage")
    office.complete(
        triage["id"], decision="dispatch", category=URGENT, department="traffic-police"
    )
    now = datetime.fromisoformat(service.advance_clock(0)["now"])
    until = (now + timedelta(days=2)).astimezone(ZONE).replace(second=0, microsecond=0)

    sign_in(browser, service, "traffic-liaison")
    browser.get(f"{service.base_url}/staff/?queue=available")
    wait_page(browser, "queue")
    card = browser.find_element(By.CSS_SELECTOR, f'#tasks li[data-case="{number}"] a')
    click_and_wait(browser, card, "task")
    click_and_wait(browser, browser.find_element(By.ID, "claim"), "task")
    browser.find_element(By.CSS_SELECTOR, "#ask-time summary").click()
    # A date-time box types by the browser's locale; its value is the same anywhere.
    browser.execute_script(
        "document.getElementById('extension-until').value = arguments[0]",
        until.strftime("%Y-%m-%dT%H:%M"),
    )
    browser.find_element(By.ID, "extension-reason").send_keys("Waiting for a crane")
    click_and_wait(browser, browser.find_element(By.ID, "ask-extension"), "task")
    request_id = int(
        browser.find_element(By.CSS_SELECTOR, "#extension-requests li[data-state]")
        .get_attribute("id")
        .removeprefix("extension-")
    )
    asked_state = state_of(browser, request_id)

    sign_in(browser, service, "office")
    browser.get(f"{service.base_url}/staff/")
    wait_page(browser, "queue")
    click_and_wait(
        browser, browser.find_element(By.ID, "extensions-link"), "extensions"
    )
    browser.find_element(By.ID, f"decide-{request_id}-note").send_keys("Granted")
    click_and_wait(
        browser, browser.find_element(By.ID, f"approve-{request_id}"), "extensions"
    )
    flash = browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    approved_state = state_of(browser, request_id)

    assert asked_state == "pending"
    assert approved_state == "approved"
    assert until.strftime("%Y-%m-%d %H:%M") in flash
    case = service.as_("supervisor").case(number)
    assert datetime.fromisoformat(case["deadline"]["due_at"]) == until
    timeline = [e["action"] for e in case["timeline"]]
    assert timeline[-2:] == ["extension_requested", "extension_approved"]


def test_use_my_position_fills_the_point_and_filters_the_queue(browser, service):
    here = {"latitude": 22.5431, "longitude": 114.0579, "accuracy": 10}
    near = service.as_("deputy").report(lat="22.5431", lng="114.0581").json()
    far = service.as_("deputy").report(lat="22.5631", lng="114.0579").json()
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": service.base_url, "permissions": ["geolocation"]},
    )
    browser.execute_cdp_cmd("Emulation.setGeolocationOverride", here)

    sign_in(browser, service, "office")
    browser.get(f"{service.base_url}/staff/?queue=available")
    wait_page(browser, "queue")
    browser.find_element(By.CSS_SELECTOR, "#filters summary").click()
    browser.find_element(By.ID, "locate").click()
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return document.body.dataset.located") == "yes"
    )
    browser.find_element(By.ID, "filter-within").send_keys("500")
    click_and_wait(browser, browser.find_element(By.ID, "apply-filter"), "queue")
    shown = [
        card.get_attribute("data-case")
        for card in browser.find_elements(By.CSS_SELECTOR, "#tasks li[data-case]")
    ]
    kept = browser.find_element(By.ID, "lat").get_attribute("value")

    assert near["number"] in shown
    assert far["number"] not in shown
    assert kept == "22.543100"
    assert "lat=22.543100&lng=114.057900&within_m=500" in browser.current_url
