"""Public mode in a real browser: `DCGAN_STUDIO_PUBLIC=1 streamlit run app.py` on loopback, Debian's Chromium.

The Train page's data picker offers no folder on the server, states the public limits, and a short run still
trains to the end; the screenshot is tests/artifacts/public_train.png. Skipped without chromium/Playwright
(unless REQUIRE_BROWSER=1), like the main journey whose helpers it reuses.
"""
from __future__ import annotations

import os

import pytest

from tests.browser.test_browser import (UI_TIMEOUT_MS, browser, go_to, open_page,  # noqa: F401 (fixture)
                                        screenshot, start_short_run, streamlit_server, wait_for_live_run)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def public_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("public_home")
    env = {**os.environ, "DCGAN_STUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1", "DCGAN_STUDIO_PUBLIC": "1"}
    with streamlit_server(env) as url:
        yield url, home


def test_public_train_journey(public_server, browser):  # noqa: F811
    url, home = public_server
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        open_page(page, url)
        go_to(page, "Train")
        page.get_by_text("Start training").first.wait_for()
        page.get_by_text("Public server. Each run: up to 64 px", exact=False).first.wait_for()
        page.get_by_role("combobox", name="Training images").click()
        options = page.get_by_role("option")
        options.first.wait_for()
        labels = options.all_inner_texts()
        assert any("Upload a .zip" in o for o in labels) and not any("folder" in o.lower() for o in labels)
        page.keyboard.press("Escape")
        start_short_run(page, max_steps=20)
        wait_for_live_run(page, status="finished")
        shot = screenshot(page, "public_train")
        assert shot.stat().st_size > 10_000
        # the run's checkpoint was kept in its own run folder under the app's data dir (public-mode autosave)
        assert list((home / "runs").glob("*/model.safetensors"))
    finally:
        context.close()
