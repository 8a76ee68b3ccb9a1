"""Reporters' pages in headless Chromium on a phone-sized screen: report, confirm."""

import pytest

from tests.conftest import PHOTOS
from tests.test_reporter_pages import handled_case
from tests.test_staff_pages_browser import (
    PHONE,
    as_phone,
    browser,  # noqa: F401 (a fixture)
    fits_the_screen,
    flash_text,
    page_of,
    sign_in,
    wait_page,
)
from tests.test_staff_pages_browser import pytestmark as needs_chromium

pytestmark = needs_chromium

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

TIANHE = {"latitude": 23.1291, "longitude": 113.3612, "accuracy": 10}


def test_a_deputy_reports_with_a_photo_and_the_phone_position(browser, service):  # noqa: F811
    as_phone(browser)
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": service.base_url, "permissions": ["geolocation"]},
    )
    browser.execute_cdp_cmd("Emulation.setGeolocationOverride", TIANHE)

    sign_in(browser, service, "deputy")
    wait_page(browser, "new-report")
    camera = browser.find_element(By.ID, "photos")
    opens = (camera.get_attribute("accept"), camera.get_attribute("capture"))
    camera.send_keys(str(PHOTOS / "hopper.jpg"))
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#photo-preview img")
    )
    browser.find_element(By.ID, "description").send_keys(
        "Shared bikes block the pavement 共享单车堵住人行道"
    )
    browser.find_element(By.ID, "locate").click()
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return document.body.dataset.located") == "yes"
    )
    browser.find_element(By.ID, "address").send_keys("Tianhe Rd 1")
    browser.find_element(By.ID, "street").send_keys("Linhe")
    Select(browser.find_element(By.ID, "category")).select_by_value("shared-bikes")
    form_fits = fits_the_screen(browser)
    browser.find_element(By.ID, "send-report").click()
    wait_page(browser, "my-case")

    assert opens == ("image/*", "environment")
    assert form_fits and fits_the_screen(browser)
    number = browser.find_element(By.ID, "case-heading").get_attribute("data-case")
    assert number in flash_text(browser)
    case = service.as_("deputy").case(number)
    assert (case["location"]["lat"], case["location"]["lng"]) == (23.1291, 113.3612)
    assert case["street"] == "Linhe" and case["category"] == "shared-bikes"
    assert [p["kind"] for p in case["photos"]] == ["report"]


def test_the_deputy_sees_the_feedback_and_confirms(browser, service):  # noqa: F811
    number = handled_case(service)
    as_phone(browser)

    sign_in(browser, service, "deputy", lang="zh")
    browser.get(f"{service.base_url}/report/mine")
    card = browser.find_element(By.CSS_SELECTOR, f'#my-cases li[data-case="{number}"]')
    feedback = card.find_elements(By.CSS_SELECTOR, "a.kind-feedback img")
    waiting = "waiting" in card.get_attribute("class")
    list_fits = fits_the_screen(browser)
    card.find_element(By.CSS_SELECTOR, "a.card-link").click()
    wait_page(browser, "my-case")
    result = browser.find_element(By.ID, "result").text
    case_fits = fits_the_screen(browser)
    browser.find_element(By.ID, "satisfied").click()
    WebDriverWait(browser, 20).until(
        lambda d: page_of(d) == "my-case" and not d.find_elements(By.ID, "confirm")
    )

    assert feedback and waiting
    assert "Drain cleared" in result
    assert list_fits and case_fits
    assert number in flash_text(browser)
    status = browser.find_element(By.ID, "case-status").get_attribute("data-status")
    assert status == "closed"
    assert service.as_("deputy").case(number)["status"] == "closed"
    assert browser.execute_script("return window.innerWidth") == PHONE["width"]
