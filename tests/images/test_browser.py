"""A person's path through the page, in headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium), on the real frontend container proxying to the real backend container: register, log in, add,
complete, delete. A screenshot is kept under artifacts/."""
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import ROOT

ARTIFACTS = ROOT / "artifacts"


def test_a_person_registers_logs_in_adds_completes_and_deletes_a_todo(stack, browser, log_in_as_new_user):
    email = f"person-{uuid.uuid4().hex[:6]}@example.com"
    wait = log_in_as_new_user(stack["frontend"], "image-test", email, "browser-pass")
    wait.until(EC.visibility_of_element_located((By.ID, "empty")))

    for title in ("Water the plants", "Write the report"):
        browser.find_element(By.ID, "title").send_keys(title)
        browser.find_element(By.ID, "add").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "list"), title))
    items = browser.find_elements(By.CSS_SELECTOR, "#list li")
    assert [i.find_element(By.CLASS_NAME, "title").text for i in items] == ["Water the plants", "Write the report"]

    items[0].find_element(By.CLASS_NAME, "complete").click()
    wait.until(lambda d: "done" in d.find_elements(By.CSS_SELECTOR, "#list li")[0].get_attribute("class"))
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "frontend-todos.png"))

    browser.find_elements(By.CSS_SELECTOR, "#list li")[1].find_element(By.CLASS_NAME, "delete").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#list li")) == 1)
    [remaining] = browser.find_elements(By.CSS_SELECTOR, "#list li")
    assert remaining.find_element(By.CLASS_NAME, "title").text == "Water the plants"
    assert "done" in remaining.get_attribute("class")

    browser.refresh()  # the todos live in the backend, not the page
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#list li")) == 1)
    browser.find_element(By.ID, "logout").click()
    wait.until(EC.visibility_of_element_located((By.ID, "auth")))
