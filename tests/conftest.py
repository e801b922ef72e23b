"""Fixtures shared by the test folders: a headless Chromium for the tests that drive the app's page."""
import shutil
import tempfile

import pytest


@pytest.fixture
def browser():
    """Debian's chromium + chromium-driver, headless, driven by Selenium (imported here: only the app's
    virtualenv, which runs these tests, has it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail("chromium and chromium-driver are missing: apt-get install chromium chromium-driver (make app-apt-packages)")
    profile = tempfile.mkdtemp(prefix="todo-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1100,800", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def log_in_as_new_user(browser):
    """A function that opens the app's page at URL, waits until it shows APP_ENV (its /config.json was read),
    registers EMAIL with PASSWORD, logs in and checks the page names EMAIL; returns its WebDriverWait."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    def log_in(url, app_env, email, password, timeout=15):
        # The list is re-rendered after each change: an element found a moment ago may be gone, so look again.
        wait = WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException])
        browser.get(url + "/")
        wait.until(lambda d: d.find_element(By.ID, "env").text == app_env)
        browser.find_element(By.ID, "email").send_keys(email)
        browser.find_element(By.ID, "password").send_keys(password)
        browser.find_element(By.ID, "register").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "message"), "Registered"))
        browser.find_element(By.ID, "login").click()
        wait.until(EC.visibility_of_element_located((By.ID, "todos")))
        assert browser.find_element(By.ID, "who").text == email
        return wait

    return log_in
