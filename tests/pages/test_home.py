"""AppTest of app.py and Home: navigation renders, the device is shown, bundled checkpoints open in Explore."""
from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.checkpoints import store as checkpoint
from tests.paths import REPO_ROOT

APP = str(REPO_ROOT / "app.py")


def test_home_renders_with_device_and_sidebar():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "DCGAN Studio"
    assert any("Device:" in i.value and "CPU" in i.value for i in at.info)
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "Device:" in sidebar and "No run in this session yet." in sidebar


def test_bundled_checkpoint_opens_in_explore(tmp_path, tiny_checkpoint, monkeypatch):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    shutil.copytree(tiny_checkpoint, bundled / "tiny-digits")
    monkeypatch.setattr(checkpoint, "BUNDLED_DIR", bundled)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("tiny-digits" in m.value for m in at.markdown)
    assert any("dcgan · digits · 16×16 · 3 steps" in c.value for c in at.caption)
    at.button(key="explore_tiny-digits").click().run()
    assert not at.exception, at.exception
    assert at.session_state["explore_source"] == "tiny-digits"
    assert at.title[0].value != "DCGAN Studio"   # now on the Explore page


@pytest.mark.parametrize("page", ["pages/train.py", "pages/explore.py", "pages/evaluate.py"])
def test_every_page_is_reachable_from_the_app(page):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.title
