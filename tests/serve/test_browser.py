"""The web page end to end in headless Chromium: a fake microphone plays a synthesised file,
the page streams it over the WebSocket and shows the transcript and the alert.

Needs Debian's chromium and chromium-driver (.ci/run installs them); skipped without them.
Set CLINIVOX_SCREENSHOT_DIR to keep a screenshot of the page mid-stream.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clinivox.serve.db import ADMIN
from clinivox.serve.settings import ServerSettings
from tests.serve.conftest import LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="chromium and chromium-driver are not installed")


@pytest.fixture
def browser(tmp_path, speech):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from clinivox.testing.synth import silence, synthesize

    audio = np.concatenate([silence(1.0), speech["clinic"], silence(1.0),
                            synthesize("She is not breathing, get the bag valve mask."),
                            silence(1.0), speech["fox"], silence(6.0)])
    wav = tmp_path / "mic.wav"
    sf.write(wav, audio, 16_000, subtype="PCM_16")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={wav}",
                 "--autoplay-policy=no-user-gesture-required", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,800",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _wait(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_page_shows_the_transcript_of_the_fed_file(browser, recognizer, tmp_path):
    from selenium.webdriver.common.by import By

    live = LiveServer(ServerSettings(data_dir=tmp_path / "data", insecure_local=True),
                      recognizer)
    try:
        browser.get(live.url + "/")
        browser.find_element(By.ID, "start").click()
        transcript = browser.find_element(By.ID, "transcript")
        assert _wait(lambda: "headache" in transcript.text.lower(), 60), transcript.text
        alerts = browser.find_element(By.ID, "alerts")
        assert _wait(lambda: "respiratory" in alerts.text.lower(), 60), alerts.text
        shots = os.environ.get("CLINIVOX_SCREENSHOT_DIR")
        if shots:
            browser.save_screenshot(str(Path(shots) / "web-page-mid-stream.png"))
        assert _wait(lambda: "fox" in transcript.text.lower(), 60), transcript.text
        browser.find_element(By.ID, "stop").click()
        status = browser.find_element(By.ID, "status")
        assert _wait(lambda: "stopped" in status.text, 30), status.text
        sessions = browser.find_element(By.ID, "sessions")
        assert _wait(lambda: "segments" in sessions.text, 10)
        stored = live.state.store.list_sessions(ADMIN)
        assert stored and stored[0]["kind"] == "stream" and stored[0]["segments_count"] >= 2
    finally:
        live.stop()
