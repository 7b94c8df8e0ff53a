"""AppTest of the Train page: renders, applies presets visibly, trains a tiny run live, pauses/steps/stops.

AppTest does not fire `run_every`, so the tests poll by calling `at.run()` again (DESIGN.md §3). Runs are tiny:
16 px, widths 4, batch 8, a few steps via the Advanced "Max steps" input.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "train.py")
TIMEOUT = 120  # the test machine is shared and slow: generous


def tiny(at: AppTest, *, max_steps: int = 6) -> AppTest:
    at.selectbox(key="image_size").set_value(16)
    at.number_input(key="z_dim").set_value(8)
    at.number_input(key="g_width").set_value(4)
    at.number_input(key="d_width").set_value(4)
    at.select_slider(key="batch_size").set_value(8)
    at.number_input(key="max_steps").set_value(max_steps)
    at.number_input(key="sample_every").set_value(2)
    at.selectbox(key="device").set_value("cpu")
    return at.run()


def status_text(at: AppTest) -> str:
    return " ".join(str(p.proto.text) for p in at.get("progress"))


def poll(at: AppTest, until, *, timeout: float = TIMEOUT) -> AppTest:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return at
        time.sleep(0.3)
    raise AssertionError(f"timed out; progress: {status_text(at)!r}, errors: {[e.value for e in at.error]}")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, app.exception
    return app


def test_renders_with_digits_preselected_and_an_estimate(at):
    assert at.selectbox(key="data_source").value == "digits"
    assert [b.label for b in at.button] == ["Start training"]
    assert any("per epoch" in m.value for m in at.markdown)
    assert any("4,000" in c.value or "4,000" in str(c) for c in at.caption) or at.get("imgs")


def test_preset_applies_its_defaults_visibly(at):
    at.selectbox(key="preset").set_value("improved").run()
    assert at.number_input(key="z_dim").value == 128
    assert at.number_input(key="g_steps").value == 2
    assert at.toggle(key="same_lr").value is False
    assert at.select_slider(key="lr_g").value == pytest.approx(4e-4)
    assert at.select_slider(key="lr_d").value == pytest.approx(2e-4)
    at.selectbox(key="preset").set_value("roadsign").run()
    assert at.selectbox(key="channels").value == 3 and at.selectbox(key="image_size").value == 32
    assert at.select_slider(key="lr_g").value == pytest.approx(1e-3)


def test_offline_dataset_needs_a_click_and_says_why(at):
    at.selectbox(key="data_source").set_value("mnist").run()
    assert any(b.label == "Download / load mnist" for b in at.button)
    assert at.button(key="start").disabled


def test_tiny_run_streams_history_and_finishes(at):
    tiny(at, max_steps=6)
    at.button(key="start").click().run()
    assert not at.exception
    poll(at, lambda a: "finished" in status_text(a))
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    assert '"D(x)"' in charts[0].proto.spec and '"D(G(z))"' in charts[0].proto.spec
    assert "step 6/6" in status_text(at)
    assert any("Finished" in s.value for s in at.success)
    assert [b.label for b in at.button][:1] == ["Start training"]      # controls followed the status
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Sample grid (PNG)", "Training GIF", "Run CSV", "Checkpoint (zip)"]


def test_history_grows_while_polling_and_stop_works(at):
    tiny(at, max_steps=100_000)
    at.button(key="start").click().run()
    seen = []

    def grew(a):
        text = status_text(a)
        if "step " in text:
            seen.append(int(text.split("step ")[1].split("/")[0].replace(",", "")))
        return len(set(seen)) >= 2 and seen[-1] > seen[0]

    poll(at, grew)
    at.button(key="pause").click().run()
    poll(at, lambda a: "paused" in status_text(a))
    paused_at = seen[-1]
    at.button(key="step_once").click().run()
    at.button(key="stop").click().run()
    poll(at, lambda a: "stopped" in status_text(a))
    assert any("Stopped at step" in i.value for i in at.info)
    assert paused_at < 100_000


def test_save_checkpoint_by_name(at, studio_home):
    tiny(at, max_steps=4)
    at.button(key="start").click().run()
    poll(at, lambda a: "finished" in status_text(a))
    at.text_input(key="ckpt_name").input("bad name/..").run()
    at.button(key="save_ckpt").click().run()
    assert any("Not saved" in e.value for e in at.error)
    at.text_input(key="ckpt_name").input("tiny_run").run()
    at.button(key="save_ckpt").click().run()
    assert (studio_home / "checkpoints" / "tiny_run" / "model.safetensors").is_file()
    assert any("Saved checkpoint" in s.value for s in at.success)
