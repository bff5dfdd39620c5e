"""The explorer page, driven in a real headless browser (Debian's chromium and chromium-driver).

The page is written by ``tcpfsm explore`` and loaded from file:// (no server, no network). The
expected states come from RFC 9293: Figure 6 (the three-way handshake: B, listening, receives
A's SYN and enters SYN-RECEIVED; A receives the SYN,ACK and enters ESTABLISHED), §3.10.4 (CLOSE
in ESTABLISHED: "queue this until all preceding SENDs have been segmentized, then form a FIN
segment and send it. ... enter FIN-WAIT-1 state") and RFC 1337 §3 (the fix ignores an RST in
TIME-WAIT: the rfc1337 profile adds a transition for it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tcpfsm.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).is_file() and Path(DRIVER).is_file()),
                                reason="Debian's chromium and chromium-driver are not installed "
                                "(make test installs them)")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert main(["explore", "-o", str(out)]) == 0
    return out / "index.html"


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1200",
                "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _png_ok(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, (path, len(data))


def _chart_labels(d) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """The sequence chart's segment labels and whether each is shown now."""
    from selenium.webdriver.common.by import By

    return {e.get_attribute("textContent"): e.is_displayed()
            for e in d.find_elements(By.CSS_SELECTOR, "#chart g.node.label text")}


def test_the_page_is_one_file_with_nothing_to_fetch(page: Path) -> None:
    html = page.read_text()
    assert "<svg" in html and 'id="data"' in html
    for fetch in ("http://", "https://", "src=", "<link"):
        assert fetch not in html.replace("http://www.w3.org", ""), fetch


def test_click_a_state_pick_a_profile_step_a_scenario(page: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(page.as_uri())
    assert d.find_element(By.ID, "step-counter").text.startswith("step 0 /")

    # click ESTABLISHED: its transitions, with labels and RFC sections
    d.find_element(By.CSS_SELECTOR, '#diagram g.node[data-state="ESTABLISHED"] text').click()
    assert d.find_element(By.ID, "state-name").text == "ESTABLISHED"
    rows = {r.get_attribute("data-rule"): r.text for r in d.find_elements(By.CSS_SELECTOR, "#transitions tbody tr")}
    close = next(text for text in rows.values() if text.split()[1:2] == ["CLOSE"])
    assert "FIN-WAIT-1" in close and "§3.10.4" in close and "snd FIN" in close
    d.save_screenshot(str(tmp_path / "state.png"))
    _png_ok(tmp_path / "state.png")

    # the handshake, step by step
    Select(d.find_element(By.ID, "scenario")).select_by_value("handshake")
    step = d.find_element(By.ID, "next")
    for _ in range(3):  # B listens, A sends its SYN, B receives it
        step.click()
    assert d.find_element(By.ID, "step-counter").text == "step 3 / 5"
    assert d.find_element(By.TAG_NAME, "body").get_attribute("data-current") == "SYN-RECEIVED"
    current = d.find_elements(By.CSS_SELECTOR, "#diagram g.node.current")
    assert {g.get_attribute("data-state") for g in current} == {"SYN-RECEIVED"}
    assert "receives SYN" in d.find_element(By.ID, "narration").text
    labels = _chart_labels(d)
    syn = next(k for k in labels if k.startswith("SYN seq="))
    synack = next(k for k in labels if k.startswith("SYN,ACK"))
    assert labels[syn] and not labels[synack], labels  # the chart grows: the SYN,ACK has not arrived yet
    step.click()
    assert d.find_element(By.TAG_NAME, "body").get_attribute("data-current") == "ESTABLISHED"
    shown = _chart_labels(d)
    assert shown[synack]
    d.save_screenshot(str(tmp_path / "step.png"))
    _png_ok(tmp_path / "step.png")

    # a profile: what changes
    Select(d.find_element(By.ID, "profile")).select_by_value("rfc1337")
    changes = d.find_element(By.ID, "changes").text
    assert "added: S17b" in changes and "TIME-WAIT" in changes
    d.save_screenshot(str(tmp_path / "profile.png"))
    _png_ok(tmp_path / "profile.png")


def test_step_through_the_walk(page: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """The HTTP GET walk's TCP part is on the page too: the server listens (RFC 9293 §3.10.1,
    LISTEN), the client's SYN (§3.10.1, SYN-SENT), the server takes it (§3.10.7.2, SYN-RECEIVED)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(page.as_uri())
    Select(d.find_element(By.ID, "scenario")).select_by_value("walk-http-get")
    step = d.find_element(By.ID, "next")
    seen = []
    for _ in range(3):
        step.click()
        seen.append(d.find_element(By.TAG_NAME, "body").get_attribute("data-current"))
    assert seen == ["LISTEN", "SYN-SENT", "SYN-RECEIVED"], seen
    assert "walk" in d.find_element(By.ID, "scenario").get_attribute("value")
