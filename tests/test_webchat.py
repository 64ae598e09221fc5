"""`clinr1 chat --web`: the page's HTML pieces, and the real page in headless Chromium.

The browser test runs where gradio, selenium and Debian's chromium + chromium-driver are
installed (`.ci/run` installs them) and is skipped elsewhere.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from clinr1.chat import case_scores, parse_case
from clinr1.chat import web as webchat

REPLY = (
    '<dx>\nThe findings: "chest pain radiating to the left arm".\nOption A is ruled out.\n</dx>\n'
    "<conclusion>\nMyocardial infarction <b>fits</b>. \\boxed{B}\n</conclusion>"
)
CASE = (
    "A 45-year-old man presents with chest pain radiating to the left arm for 2 hours.\n"
    "Which of the following is the most likely diagnosis?\n"
    "A. Pneumonia\nB. Myocardial infarction\nC. Appendicitis"
)


def test_reply_html_has_one_block_per_section_and_escapes_text() -> None:
    page = webchat.reply_html(REPLY)
    assert page.count('class="c1-section c1-dx"') == 1
    assert page.count('class="c1-section c1-conclusion"') == 1
    assert '<mark class="c1-box">\\boxed{B}</mark>' in page
    assert "&lt;b&gt;fits&lt;/b&gt;" in page and "<b>fits" not in page  # model text is escaped


def test_transcript_and_score_panel() -> None:
    messages = [
        {"role": "system", "content": "hidden"},
        {"role": "user", "content": "<script>x</script>"},
        {"role": "assistant", "content": REPLY},
    ]
    page = webchat.transcript_html(messages, stopped=[1])
    assert "hidden" not in page and "&lt;script&gt;" in page
    assert "answer <mark>B</mark>" in page and "[stopped]" in page
    streaming = webchat.transcript_html(messages[:2], partial="<dx>Opt")
    assert "c1-streaming" in streaming
    item = parse_case(CASE)
    panel = webchat.scores_html(case_scores(REPLY, item, None, "crpo"))
    assert 'data-objective="faithfulness"' in panel and "type the gold letter" in panel
    assert 'data-objective="total"' not in panel
    panel = webchat.scores_html(case_scores(REPLY, item, "B", "crpo"))
    assert 'data-objective="total"' in panel and "gold: B" in panel


def test_missing_gradio_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a)
    )
    with pytest.raises(webchat.WebChatError, match=r"pip install 'clinr1\[demo\]'"):
        webchat.require_gradio()


# --- the page in a browser ----------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or shutil.which("chromium-driver")
BROWSER_MISSING = [
    name
    for name, ok in (
        ("gradio", importlib.util.find_spec("gradio") is not None),
        ("selenium", importlib.util.find_spec("selenium") is not None),
        ("chromium", CHROMIUM is not None),
        ("chromium-driver", CHROMEDRIVER is not None),
    )
    if not ok
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PacedBackend:
    """The tiny model, with a short pause per chunk so that the page can be seen mid-stream."""

    def __init__(self, inner):
        self.inner = inner
        self.context = inner.context
        self.max_new_tokens = inner.max_new_tokens
        self.count_tokens = inner.count_tokens

    def stream(self, messages, stop):
        for chunk in self.inner.stream(messages, stop):
            time.sleep(0.03)
            yield chunk


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.mark.skipif(bool(BROWSER_MISSING), reason=f"needs {', '.join(BROWSER_MISSING)}")
def test_page_streams_a_case_and_shows_the_scores(tmp_path: Path, _model_cache: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from clinr1.config import ModelConfig
    from clinr1.engine import load_model
    from clinr1.evaluate.generate import HFStreamer

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    cfg = ModelConfig(name_or_path="tiny-random-qwen2", engine="hf", load_in_4bit=False)
    loaded = load_model(cfg, trainable=False, verbose=False)
    backend = PacedBackend(HFStreamer(loaded.model, loaded.tokenizer, max_new_tokens=120))
    port = _free_port()
    app = webchat.launch(backend, port=port, block=False, info={"model": "tiny-random-qwen2"})
    driver = _driver(tmp_path / "profile")
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#message textarea"))
        assert "not for clinical use" in driver.find_element(By.ID, "banner").text
        box.send_keys(CASE)
        driver.find_element(By.ID, "send").click()
        # mid-stream: the reply is on the page while the score panel still waits for it
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript .c1-streaming"))
        assert "generating" in driver.find_element(By.ID, "scores").text
        table = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#score-table"))[0]
        rows = table.find_elements(By.CSS_SELECTOR, "tr[data-objective]")
        assert [r.get_attribute("data-objective") for r in rows] == [
            "format", "faithfulness", "comprehensiveness", "accuracy",
        ]  # fmt: skip
        transcript = driver.find_element(By.ID, "transcript").text
        assert "Myocardial infarction" in transcript  # the case as sent
        assert not driver.find_elements(By.CSS_SELECTOR, "#transcript .c1-streaming")
        gold = driver.find_element(By.CSS_SELECTOR, "#gold input, #gold textarea")
        gold.send_keys("B", Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#scores tr[data-objective="total"]'))
        assert "gold: B" in driver.find_element(By.ID, "scores").text
        # a follow-up turn, stopped mid-stream: the page keeps the partial reply
        box.send_keys("And the next step?")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript .c1-streaming"))
        driver.find_element(By.ID, "stop").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript .c1-stopped"))
        assert "a follow-up, not a case" in driver.find_element(By.ID, "scores").text
        driver.save_screenshot(str(tmp_path / "webchat.png"))
        assert (tmp_path / "webchat.png").stat().st_size > 10_000
    finally:
        driver.quit()
        app.close()
