"""End to end in a real headless Chromium: search as you type, read an article, draft, copy.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``);
skipped when they are missing. With ``HVKB_SCREENSHOTS=1`` it also saves one screenshot per page
to ``docs/screenshots/<page>.png``.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kb.content import load_corpus
from kb.index import build_index
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 15
QUESTION = ("We have a two-node Windows Server 2012 R2 Hyper-V cluster. When one node reboots the whole "
            "cluster goes down. Do I need a witness for quorum?")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # CI sets HVKB_REQUIRE_BROWSER=1 after installing Chromium: there a missing browser is a failure.
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not os.environ.get("HVKB_REQUIRE_BROWSER"),
                       reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)"),
]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The real app under waitress on 127.0.0.1 and a free port, in a background thread."""
    from waitress.server import create_server

    index_dir = tmp_path_factory.mktemp("browser-index")
    build_index(load_corpus(CONTENT), index_dir)
    app = create_app({"CONTENT_DIR": str(CONTENT), "INDEX_DIR": str(index_dir)})
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="hvkb-test")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000", "--hide-scrollbars",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _screenshot(driver, name: str, height: int = 1000) -> None:
    if os.environ.get("HVKB_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1280, height)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    driver.set_window_size(1280, 1000)


def _csp_violations(driver) -> list[str]:
    try:
        logs = driver.get_log("browser")
    except Exception:  # noqa: BLE001 - some drivers have no log endpoint; nothing to check then
        return []
    return [e["message"] for e in logs if "Content Security Policy" in e.get("message", "")]


def test_search_read_draft_and_copy(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)

    # Home: typing searches as you type over /api/search.
    browser.get(live_server + "/")
    assert "hvkb" in browser.title
    _screenshot(browser, "home", 1000)
    box = browser.find_element(By.ID, "q")
    box.send_keys("quorom witness")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#live-results .hit")))
    assert "Did you mean" in browser.find_element(By.ID, "live-results").text
    live_marks = browser.find_elements(By.CSS_SELECTOR, "#live-results .excerpt mark")
    assert live_marks, "highlighted excerpt rebuilt by the JS"

    # Search page: submitting the form works like it would without JS.
    box.send_keys(Keys.ENTER)
    wait.until(EC.url_contains("/search?q=quorom"))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#results .hit")))
    assert "Did you mean" in browser.find_element(By.CSS_SELECTOR, ".suggestion").text
    assert browser.find_element(By.ID, "q").get_attribute("value") == "quorom witness"
    _screenshot(browser, "search", 1100)

    # Article: the first hit is about quorum.
    first = browser.find_element(By.CSS_SELECTOR, "#results .hit-title")
    first.click()
    wait.until(EC.url_contains("/articles/quorum"))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".toc a")))
    assert "quorum" in browser.find_element(By.TAG_NAME, "h1").text.lower()
    assert browser.find_elements(By.CSS_SELECTOR, "section.snippet[id^='snippet-']")
    browser.get(live_server + "/articles/quorum")
    _screenshot(browser, "article", 1300)

    # Draft an answer, then copy it.
    browser.get(live_server + "/answer")
    question = browser.find_element(By.ID, "question")
    question.send_keys(QUESTION)
    browser.find_element(By.CSS_SELECTOR, ".answer-form button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "draft-md")))
    confidence = browser.find_element(By.ID, "confidence").text
    assert "Confidence" in confidence and "%" in confidence
    draft = browser.find_element(By.ID, "draft-md").get_attribute("value")
    assert draft.strip()
    assert browser.find_elements(By.CSS_SELECTOR, ".sources a[href^='/articles/']")
    copy = browser.find_element(By.CSS_SELECTOR, "button[data-copy='draft-md']")
    assert copy.is_displayed(), "the JS reveals the copy buttons"
    copy.click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "copy-status"), "Copied"))
    _screenshot(browser, "answer", 1300)

    browser.get(live_server + "/glossary")
    assert browser.find_elements(By.CSS_SELECTOR, ".glossary .term")
    _screenshot(browser, "glossary", 1000)

    assert not _csp_violations(browser), "the pages break their own Content-Security-Policy"
