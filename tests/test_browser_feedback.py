"""The learning loop end to end in headless Chromium: draft, thumbs down with a reason, the question on
the Review page, a proposal produced. Reuses the browser and helpers of tests/test_browser.py."""
from __future__ import annotations

import pytest

from test_browser import (PHONE_WIDTH, QUESTION, WAIT_SECONDS, _csp_violations, _overflow, _phone,  # noqa: F401
                          _screenshot, browser, pytestmark, serving)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("browser-home")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, home):
    """The real app with history on (a data folder of its own)."""
    with serving(tmp_path_factory, HOME_DIR=str(home)) as (app, url):
        yield url
    app.extensions["history"].close()


def test_draft_thumbs_down_review_and_propose(live_server, browser, home):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(live_server + "/answer")
    browser.find_element(By.ID, "question").send_keys(QUESTION)
    browser.find_element(By.CSS_SELECTOR, ".answer-form button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "draft-md")))
    assert "History is on" in browser.find_element(By.ID, "history-note").text

    # Thumbs down without a reason: the page asks for one and sends nothing.
    browser.find_element(By.ID, "feedback-down").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "feedback-status"), "Choose what was wrong"))
    browser.find_element(By.ID, "reason-missing-step").click()
    browser.find_element(By.ID, "feedback-note").send_keys("It does not say how to add a cloud witness.")
    browser.find_element(By.ID, "feedback-down").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "feedback-status"), "Thanks: marked as wrong"))
    assert "/answer" in browser.current_url  # sent in the background: the draft stays on screen
    _screenshot(browser, "answer-feedback", 1900)  # tall enough to show the feedback form under the draft

    # The question is on the Review page, with its reason and note.
    browser.find_element(By.LINK_TEXT, "Review").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#wrong-heading")))
    group = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=wrong-heading] .review-group")
    assert "Do I need a witness for quorum?" in group.text
    assert "Missing step" in group.text and "cloud witness" in group.text
    _screenshot(browser, "review", 1100)
    snippet = group.find_element(By.CSS_SELECTOR, "input[name=snippet]").get_attribute("value")
    assert snippet, "the drafted snippet is offered for the phrasings"

    # A proposal: the patch that adds the question as a phrasing of that snippet, written to proposals/.
    group.find_element(By.CSS_SELECTOR, "button.propose-phrasings").click()
    wait.until(EC.presence_of_element_located((By.ID, "proposal-text")))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"New phrasings for {snippet}"
    patch = browser.find_element(By.ID, "proposal-text").get_attribute("value")
    assert f"+++ b/content/snippets/{snippet}.md" in patch and "Do I need a witness for quorum?" in patch
    assert "Written to" in browser.find_element(By.ID, "proposal-saved").text
    (saved,) = (home / "proposals").glob("*.patch")
    assert saved.read_text(encoding="utf-8") == patch

    # The draft is in the History, marked wrong, and reopens.
    browser.get(live_server + "/history")
    browser.find_element(By.CSS_SELECTOR, ".history-question").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".stored-question")))
    assert "Do I need a witness for quorum?" in browser.find_element(By.CSS_SELECTOR, ".stored-question").text
    assert "Missing step" in browser.find_element(By.CSS_SELECTOR, ".feedback-given").text

    _phone(browser, True)
    try:
        for path in ("/review", "/history", "/history/1"):
            browser.get(live_server + path)
            o = _overflow(browser)
            assert o["inner"] == PHONE_WIDTH and o["scroll"] <= o["inner"], (path, o)
    finally:
        _phone(browser, False)
    assert not _csp_violations(browser), "the pages break their own Content-Security-Policy"
