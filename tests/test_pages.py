"""The modeler and the case viewer in headless Chromium against the real server."""

import pytest
import requests

from tests.chromium import chromium, needs_chromium
from tests.test_definitions import upload

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as seen  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = needs_chromium


@pytest.fixture
def browser():
    with chromium("1600,1000") as driver:
        yield driver


def sign_in(browser, service, path, name):
    browser.get(service.base_url + path)
    token = WebDriverWait(browser, 20).until(
        seen.visibility_of_element_located((By.ID, "token"))
    )
    token.send_keys(service.tokens[name])
    browser.find_element(By.ID, "sign-in-button").click()


def wait_loaded(browser, expected=None, timeout=30):
    def loaded(driver):
        value = driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")
        return value if value and (expected is None or value == expected) else False

    return WebDriverWait(browser, timeout).until(loaded)


def wait_status(browser, words, timeout=30):
    WebDriverWait(browser, timeout).until(
        lambda d: words in d.find_element(By.ID, "status").text
    )
    return browser.find_element(By.ID, "status").text


def shape(browser, element_id):
    return browser.find_element(
        By.CSS_SELECTOR, f'g.djs-element[data-element-id="{element_id}"]'
    )


def test_a_designer_edits_a_label_checks_and_deploys_a_new_version(browser, service):
    sign_in(browser, service, "/designer/modeler", "designer")
    loaded = wait_loaded(browser)
    before = int(loaded.split(":")[1])

    webdriver.ActionChains(browser).double_click(shape(browser, "handle")).perform()
    WebDriverWait(browser, 10).until(
        seen.visibility_of_element_located(
            (By.CSS_SELECTOR, ".djs-direct-editing-parent")
        )
    )
    typing = webdriver.ActionChains(browser)
    typing.key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL)
    typing.send_keys("Fix it and report back").perform()
    canvas = browser.find_element(By.ID, "canvas")
    webdriver.ActionChains(browser).move_to_element_with_offset(
        canvas, -canvas.size["width"] // 2 + 5, canvas.size["height"] // 2 - 5
    ).click().perform()
    label = browser.execute_script(
        "return window.suishoupaiModeler.get('elementRegistry')"
        ".get('handle').businessObject.name"
    )
    assert label == "Fix it and report back"
    browser.find_element(By.ID, "check").click()
    wait_status(browser, "No problems")
    browser.find_element(By.ID, "deploy").click()
    status = wait_status(browser, "Deployed")

    assert f"version {before + 1}" in status
    selected = browser.find_element(By.CSS_SELECTOR, "#version option:checked")
    assert selected.get_attribute("value") == str(before + 1)
    xml = service.as_("designer").get(
        f"/api/v1/definitions/case_loop/versions/{before + 1}/files/case_loop.bpmn"
    )
    assert 'name="Fix it and report back"' in xml.text


def test_problems_found_by_the_service_are_shown_on_their_elements(browser, service):
    sign_in(browser, service, "/designer/modeler", "designer")
    wait_loaded(browser)

    # Rename the triage lane, so its tasks belong to nobody the service knows.
    browser.execute_script(
        "const m = window.suishoupaiModeler;"
        "const lane = m.get('elementRegistry').get('lane_triage');"
        "m.get('modeling').updateLabel(lane, 'somebody else');"
    )
    browser.find_element(By.ID, "check").click()
    wait_status(browser, "problem")

    items = browser.find_elements(By.CSS_SELECTOR, "#problems li")
    located = {item.get_attribute("data-element-id") for item in items}
    assert "triage" in located
    assert "has-problem" in shape(browser, "triage").get_attribute("class")
    assert browser.find_elements(By.CSS_SELECTOR, ".problem-badge")


def test_a_case_viewer_marks_the_current_task_beside_the_timeline(browser, service):
    number = service.as_("deputy").report().json()["number"]

    sign_in(browser, service, f"/cases/{number}/viewer", "supervisor")
    wait_loaded(browser, number)

    assert "state-current" in shape(browser, "triage").get_attribute("class")
    assert "state-completed" in shape(browser, "report_received").get_attribute("class")
    assert "state-current" not in shape(browser, "handle").get_attribute("class")
    actions = [
        li.get_attribute("data-action")
        for li in browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    ]
    assert actions[0] == "reported"


def test_pages_need_a_token_and_refuse_a_wrong_one(browser, service):
    browser.get(service.base_url + "/designer/modeler")
    WebDriverWait(browser, 20).until(
        seen.visibility_of_element_located((By.ID, "token"))
    ).send_keys("not-a-token")
    browser.find_element(By.ID, "sign-in-button").click()

    WebDriverWait(browser, 20).until(
        lambda d: "sign in again" in d.find_element(By.ID, "sign-in-error").text
    )
    assert not browser.find_element(By.ID, "page").is_displayed()


def test_pages_and_vendored_modeler_are_served_by_the_service_itself(service):
    page = requests.get(service.base_url + "/designer/modeler", timeout=10)
    script = requests.get(
        service.base_url + "/static/vendor/bpmn-js/bpmn-modeler.production.min.js",
        timeout=10,
    )
    licence = requests.get(
        service.base_url + "/static/vendor/bpmn-js/LICENSE", timeout=10
    )

    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "http" not in "".join(
        line for line in page.text.splitlines() if "<script" in line
    )
    assert script.status_code == 200 and len(script.content) > 100_000
    assert "Camunda Services GmbH" in licence.text


def test_the_case_diagram_file_follows_case_permissions(service):
    number = service.as_("deputy").report().json()["number"]

    mine = service.as_("deputy").get(f"/api/v1/cases/{number}/diagram.bpmn")
    theirs = service.as_("other-deputy").get(f"/api/v1/cases/{number}/diagram.bpmn")

    assert mine.status_code == 200 and "<bpmn:process" in mine.text
    assert theirs.status_code == 404


def test_deploying_from_the_api_keeps_the_modeler_list_in_step(service):
    # The modeler lists what the API lists; a deploy shows up as the newest.
    content = (
        service.as_("designer")
        .get("/api/v1/definitions/case_loop/versions/1/files/case_loop.bpmn")
        .content
    )
    deployed = upload(
        service.as_("designer"),
        [("case_loop.bpmn", content.replace(b"Confirm the result", b"Confirm it"))],
    ).json()
    listed = service.as_("designer").get("/api/v1/definitions").json()

    assert [v["version"] for v in listed if v["newest"]] == [deployed["version"]]
