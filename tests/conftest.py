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
