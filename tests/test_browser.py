"""End to end in a real headless Chromium: search as you type, read an article, draft, copy.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``);
skipped when they are missing. With ``HVKB_SCREENSHOTS=1`` it also saves one screenshot per page
to ``docs/screenshots/<page>.png``.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
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


@contextmanager
def serving(tmp_path_factory, **config):
    """The real app over the shipped content (``config`` added to its settings) under waitress on
    127.0.0.1 and a free port, in a background thread; yields the app and its base URL."""
    from waitress.server import create_server

    index_dir = tmp_path_factory.mktemp("browser-index")
    build_index(load_corpus(CONTENT), index_dir)
    app = create_app({"CONTENT_DIR": str(CONTENT), "INDEX_DIR": str(index_dir), **config})
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="hvkb-test")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serving(tmp_path_factory) as (_app, url):
        yield url


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


# --- issue 14: draft box

EDITED_DRAFT = ("Hi,\n\nAdd a **witness**: see [Configure quorum](https://learn.microsoft.com/quorum) "
                "and `Set-ClusterQuorum`.\n\n- one <b>raw</b>\n- two\n\n# Done")


def _copied_text(driver, label: str) -> str:
    """The text a copy button would put on the clipboard (headless Chromium cannot read the clipboard)."""
    return driver.execute_script(
        "var b = document.querySelector(\"button[data-copy-label='\" + arguments[0] + \"']\");"
        "return document.getElementById(b.dataset.copy).value;", label)


def test_draft_preview_and_plain_copy_follow_the_edited_markdown(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(live_server + "/answer")
    browser.find_element(By.ID, "question").send_keys(QUESTION)
    browser.find_element(By.CSS_SELECTOR, ".answer-form button[type=submit]").click()
    box = wait.until(EC.presence_of_element_located((By.ID, "draft-md")))

    # Sources name their public page when they have one (Source.url), besides hvkb's own page.
    public = browser.find_elements(By.CSS_SELECTOR, ".sources .source-public a[href^='https://']")
    assert public and public[0].text == "learn.microsoft.com"

    # Unedited, the browser's plain text is the server's: a first keystroke changes nothing else.
    server_plain = _copied_text(browser, "plain text")
    assert browser.execute_script(
        "var d = window.hvkbDraft; return d.plainText(d.parser(window.markdownit), arguments[0]);",
        box.get_attribute("value")) == server_plain

    old_answer = browser.find_elements(By.CSS_SELECTOR, ".preview-body p")[1].text
    assert len(old_answer) > 40
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(EDITED_DRAFT)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".preview-body h1")))
    preview = browser.find_element(By.CSS_SELECTOR, ".preview-body")
    assert preview.find_element(By.CSS_SELECTOR, "a[href='https://learn.microsoft.com/quorum']").text == "Configure quorum"
    assert preview.find_element(By.TAG_NAME, "strong").text == "witness"
    assert preview.find_element(By.TAG_NAME, "code").text == "Set-ClusterQuorum"
    assert not preview.find_elements(By.CSS_SELECTOR, "li b"), "raw HTML is shown as text, never made an element"
    assert "<b>raw</b>" in preview.find_element(By.TAG_NAME, "ul").text
    assert old_answer not in preview.text, "the old draft is gone from the preview"

    assert _copied_text(browser, "plain text") == (
        "Hi,\n\nAdd a witness: see Configure quorum (https://learn.microsoft.com/quorum) "
        "and Set-ClusterQuorum.\n\n- one <b>raw</b>\n- two\n\nDone")
    assert _copied_text(browser, "Markdown") == EDITED_DRAFT

    # A copy straight after a keystroke copies that keystroke too (no wait for the debounce).
    box.send_keys("!")
    browser.find_element(By.CSS_SELECTOR, "button[data-copy='draft-plain']").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "copy-status"), "Copied plain text"))
    assert _copied_text(browser, "plain text").endswith("\n\nDone!")

    assert not _csp_violations(browser), "the draft page breaks its own Content-Security-Policy"


# --- issue 14: layout

PHONE_WIDTH = 390
PHONE_PAGES = ["/", "/search?q=quorum+witness", "/articles/quorum", "/articles/scalability-limits", "/topics", "/glossary"]


def _phone(driver, on: bool) -> None:
    """Emulate a phone's viewport (390 px, mobile) or go back to the desktop window."""
    if on:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _overflow(driver) -> dict:
    """How far the page is wider than the viewport, and the widest elements that stick out."""
    return driver.execute_script("""
        var w = window.innerWidth, out = [];
        document.querySelectorAll('body *').forEach(function (e) {
          var r = e.getBoundingClientRect();
          if (r.right > w + 0.5 && r.width > 0) out.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right));
        });
        return {scroll: document.documentElement.scrollWidth, inner: w, wide: out.slice(0, 8)};
    """)


def test_every_page_fits_a_phone_width(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    _phone(browser, True)
    try:
        for path in PHONE_PAGES:
            browser.get(live_server + path)
            if path.startswith("/search"):
                wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#results .hit")))
            o = _overflow(browser)
            assert o["inner"] == PHONE_WIDTH and o["scroll"] <= o["inner"], (path, o)
        browser.get(live_server + "/answer")
        browser.find_element(By.ID, "question").send_keys(QUESTION)
        browser.find_element(By.CSS_SELECTOR, ".answer-form button[type=submit]").click()
        wait.until(EC.presence_of_element_located((By.ID, "draft-md")))
        o = _overflow(browser)
        assert o["scroll"] <= o["inner"], ("/answer (drafted)", o)
        if os.environ.get("HVKB_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            browser.get(live_server + "/articles/quorum")
            browser.save_screenshot(str(SCREENSHOTS / "article-phone.png"))
    finally:
        _phone(browser, False)


def _live_results_for(browser, live_server, typed: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server + "/")
    browser.find_element(By.ID, "q").send_keys(typed)
    target = browser.find_element(By.ID, "live-results")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: target.get_attribute("data-live-query") == typed.strip() and d.find_elements(By.CSS_SELECTOR, "#live-results .hit"))
    return target.text


def test_live_search_does_not_correct_the_word_still_being_typed(live_server, browser):
    # "wit" is the start of "witness": neither "quorum wit" nor a correction of "witn" is offered.
    assert "Did you mean" not in _live_results_for(browser, live_server, "quorom wit")
    assert "Did you mean" not in _live_results_for(browser, live_server, "quorum witn")
    # Finished words still get one: a space after the word, or a word the results hold whole.
    assert "Did you mean quorum wit?" in _live_results_for(browser, live_server, "quorom wit ")
    assert "Did you mean quorum witness?" in _live_results_for(browser, live_server, "quorom witness")


def test_slash_focuses_search_and_ctrl_enter_drafts(live_server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server + "/articles/quorum")
    ActionChains(browser).send_keys("/").perform()
    assert browser.switch_to.active_element.get_attribute("id") == "header-q"
    assert browser.find_element(By.ID, "header-q").get_attribute("value") == "", "the '/' is not typed into the box"

    browser.get(live_server + "/")
    question = browser.find_element(By.ID, "question")
    question.send_keys("a/b")  # typing "/" in a field types it
    assert question.get_attribute("value") == "a/b"
    assert browser.switch_to.active_element.get_attribute("id") == "question"
    question.clear()
    question.send_keys(QUESTION)
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    WebDriverWait(browser, WAIT_SECONDS).until(EC.presence_of_element_located((By.ID, "draft-md")))
    assert browser.current_url.endswith("/answer")


def test_dark_mode_follows_the_system_and_articles_print_cleanly(live_server, browser):
    def luminance(css: str) -> float:
        r, g, b = [int(float(x)) for x in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    style = "return getComputedStyle(arguments[0] ? document.querySelector(arguments[0]) : document.body)"
    browser.get(live_server + "/articles/quorum")
    try:
        assert luminance(browser.execute_script(style + ".backgroundColor", None)) > 0.8
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                {"media": "", "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        assert luminance(browser.execute_script(style + ".backgroundColor", None)) < 0.2
        assert luminance(browser.execute_script(style + ".color", None)) > 0.7
        assert luminance(browser.execute_script(style + ".backgroundColor", "input[type=search]")) < 0.3

        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print", "features": []})
        for selector in (".site-header", ".header-search", ".site-nav", ".toc", ".site-footer"):
            assert browser.execute_script(style + ".display", selector) == "none", selector
        assert luminance(browser.execute_script(style + ".backgroundColor", None)) > 0.8
        after = browser.execute_script(
            "return getComputedStyle(document.querySelector('.references a[href^=\"https://\"]'), '::after').content")
        href = browser.execute_script("return document.querySelector('.references a[href^=\"https://\"]').getAttribute('href')")
        assert href in after, after
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})
