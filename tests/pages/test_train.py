"""AppTest of the Train page: renders, applies presets visibly, trains a tiny run live, pauses/steps/stops.

AppTest does not fire `run_every`, so the tests poll by calling `at.run()` again (ARCHITECTURE.md, "Threads and processes"). Runs are tiny:
16 px, widths 4, batch 8, a few steps via the Advanced "Max steps" input.
"""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest
from tests.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "train.py")
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
    assert any(c.value == "4,000 images ready; none skipped." for c in at.caption)


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


def test_refine_blocks_are_validated_with_the_preset_and_a_preset_resets_them(at):
    assert at.number_input(key="g_refine").value == 1                 # the dcgan preset's default
    at.number_input(key="g_refine").set_value(2).run()
    assert not at.error and at.button(key="start").disabled is False
    at.selectbox(key="preset").set_value("improved").run()         # improved has no refine blocks: back to 0
    assert at.number_input(key="g_refine").value == 0 and not at.error
    at.number_input(key="g_refine").set_value(2).run()
    assert any("dcgan and roadsign presets only" in e.value for e in at.error)
    assert at.button(key="start").disabled


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
    assert [c.key for c in charts] == ["chart_prob", "chart_loss", "chart_collapse"]
    assert '"D(x)"' in charts[0].proto.spec and '"D(G(z))"' in charts[0].proto.spec
    assert "diversity" in charts[2].proto.spec                          # the mode-collapse signal is plotted
    assert "step 6/6" in status_text(at)
    assert any("Finished" in s.value for s in at.success)
    assert [b.label for b in at.button][:1] == ["Start training"]      # controls followed the status
    labels = [b.proto.label for b in at.get("download_button") if not b.key.startswith("handover")]
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


def test_refresh_choice_applies_while_a_run_is_active_and_is_kept_for_the_next_run(at):
    from ui.train.live import browser_is_local, default_refresh, refresh_interval, watching_note

    assert browser_is_local("::ffff:127.0.0.1") and browser_is_local("::1") and browser_is_local(None)
    assert not browser_is_local("10.0.0.5") and not browser_is_local("::ffff:192.168.1.7")

    assert "2 CPU cores" in watching_note(local_browser=True, cores=2, every_s=1)
    assert watching_note(local_browser=False, cores=2, every_s=1) is None       # a visitor's browser: no cost here
    assert watching_note(local_browser=True, cores=16, every_s=1) is None       # cores to spare
    assert watching_note(local_browser=True, cores=2, every_s=10) is None       # already the slow refresh
    assert default_refresh(local_browser=True, cores=2) == "3 s"                 # redraws cost this run most
    assert default_refresh(local_browser=True, cores=16) == "1 s"
    assert default_refresh(local_browser=False, cores=2) == "1 s"               # a Space's visitors: live
    assert refresh_interval("10 s", active=True) == "10s"
    assert refresh_interval(None, active=True) == "1s"                  # nothing chosen: every second
    assert refresh_interval("3 s", active=False) is None                # an ended run has no timer

    tiny(at, max_steps=100_000)
    assert not at.segmented_control                                     # no run yet: nothing to refresh
    at.button(key="start").click().run()
    control = at.segmented_control(key="live_refresh")
    assert control.value == "1 s" and control.options == ["1 s", "3 s", "10 s"]   # AppTest has no client address
    control.set_value("10 s").run()
    assert not at.exception
    assert at.segmented_control(key="live_refresh").value == "10 s"
    at.button(key="stop").click().run()
    poll(at, lambda a: "stopped" in status_text(a))
    assert not at.segmented_control                                     # ended: the control goes with the timer
    at.button(key="start").click().run()
    poll(at, lambda a: "step " in status_text(a))
    assert at.segmented_control(key="live_refresh").value == "10 s"    # the next run keeps the choice
    at.button(key="stop").click().run()
    poll(at, lambda a: "stopped" in status_text(a))


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


# ---- data sources: uploads (bytes in memory) and a local folder ----
def _png(seed: int, size: int = 20) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_upload_zip_and_images_preview_counts_and_skips_then_trains(at, studio_home):
    at.selectbox(key="data_source").set_value("upload").run()
    archive = _zip({**{f"img/{i}.png": _png(i) for i in range(10)}, "notes.txt": b"hello",
                    "broken.png": b"\x89PNG not really", "../escape.png": _png(99)})
    at.file_uploader(key="data_upload").set_value([
        ("faces.zip", archive, "application/zip"), ("extra.png", _png(7), "image/png"),
        ("bad.jpg", b"nope", "image/jpeg")]).run()
    assert not at.exception, at.exception
    assert any(c.value == "12 images ready." for c in at.caption)
    warning = " ".join(w.value for w in at.warning)
    assert "Skipped 3 file(s)" in warning and "not an image file" in warning and "unreadable" in warning
    assert not any(p.name == "escape.png" for p in studio_home.rglob("*"))   # nothing extracted to disk
    tiny(at, max_steps=3)
    at.button(key="start").click().run()
    poll(at, lambda a: "finished" in status_text(a))


def test_folder_path_source_and_missing_folder(at, tmp_path):
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    for i in range(5):
        (folder / "sub" / f"{i}.png").write_bytes(_png(i))
    (folder / "readme.md").write_text("not an image")
    at.selectbox(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").input(str(tmp_path / "nope")).run()
    assert any("does not exist" in e.value for e in at.error)
    at.text_input(key="data_folder").input(str(folder)).run()
    assert not at.exception, at.exception
    assert any("Skipped 1 file(s): 1 not an image file" in w.value for w in at.warning)
    assert not at.button(key="start").disabled


# ---- one run per device: a second session waits in the queue; a reload reattaches by ?job= ----
def test_second_session_is_queued_and_a_reload_reattaches(at):
    tiny(at, max_steps=100_000)
    at.button(key="start").click().run()
    other = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    tiny(other, max_steps=3)
    other.button(key="start").click().run()
    poll(other, lambda a: any("queued, position 1" in i.value for i in a.info))
    assert "queued" in status_text(other)                   # the progress line names the state too

    job_id = at.query_params["job"][0] if isinstance(at.query_params["job"], list) else at.query_params["job"]
    reloaded = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    reloaded.query_params["job"] = job_id
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.button(key="stop")                       # the same run, with its controls
    reloaded.button(key="stop").click().run()
    poll(at, lambda a: "stopped" in status_text(a))
    poll(other, lambda a: "finished" in status_text(a))     # the queued run started once the first ended


# ---- pure helpers behind the page: banners, figures, CSV ----
def _rows(n, *, d_real=0.5, d_fake=0.5, div=None):
    rows = [{"step": i, "epoch": i // 10, "loss_d": 1.0, "loss_g": 1.0, "d_real": d_real,
             "d_fake_before": d_fake, "d_fake_after": d_fake, "images_per_s": 100.0} for i in range(1, n + 1)]
    for (i, d) in (div or []):
        rows[i]["diversity"] = d
    return rows


def test_banners_explain_d_wins_collapse_and_divergence():
    from ui.train.checks import banners

    assert banners(_rows(60)) == []
    kinds = [b.kind for b in banners(_rows(300, d_real=0.99, d_fake=0.01))]
    assert kinds == ["d_wins"]
    assert banners(_rows(150, d_real=0.99, d_fake=0.01)) == []  # early: normal
    collapsed = _rows(60, div=[(0, 0.004), (20, 0.2), (40, 0.25), (59, 0.05)])
    assert [b.kind for b in banners(collapsed)] == ["collapse"]
    healthy = _rows(60, div=[(0, 0.004), (20, 0.2), (59, 0.22)])
    assert banners(healthy) == []
    bad = banners(_rows(3), diverged_error="training diverged at step 3 (a loss became NaN)")
    assert bad[0].kind == "diverged" and "lower learning rates" in bad[0].text


def test_cost_estimate_counts_a_real_training_step(tiny_model):
    """step_flops (FlopCounterMode on meta-device passes) matches FlopCounterMode around a real Trainer.step."""
    import dataclasses

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from gan_core.config import TrainConfig
    from gan_core.training.trainer import Trainer
    from ui.train.data import pass_flops, step_flops

    train = TrainConfig(batch_size=2, device="cpu", amp=False)
    images = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    trainer = Trainer(tiny_model, train, images=images, device=torch.device("cpu"))
    trainer.step()
    with FlopCounterMode(display=False) as counter:
        trainer.step()
    measured = counter.get_total_flops() / 2                   # per image
    assert 0.7 < step_flops(tiny_model, train) / measured < 1.3
    f = pass_flops(tiny_model)
    two_g = step_flops(tiny_model, dataclasses.replace(train, g_steps=2)) - step_flops(tiny_model, train)
    assert two_g == f["g_fwd_bwd"] + f["d_fwd_bwd_input"] and f["g_fwd_bwd"] > 2 * f["g_fwd"] > 0
    wide = dataclasses.replace(tiny_model, g_width=8, d_width=8)
    assert step_flops(wide, train) > 3 * step_flops(tiny_model, train)         # convs: ~ width squared


def test_figures_name_traces_and_thin_long_histories():
    from ui.figures import loss_figure, probability_figure

    rows = _rows(5000)
    fig = probability_figure(rows)
    assert [t.name for t in fig.data][:2] == ["D(x)", "D(G(z))"]
    assert len(fig.data[0].x) <= 1600 and fig.data[0].x[-1] == 5000
    assert any(s.y0 == 0.4 and s.y1 == 0.6 for s in fig.layout.shapes)     # the 0.5 equilibrium band
    assert len(loss_figure(rows, smoothing=0.9).data) == 2


def test_run_csv_has_config_and_history(tiny_model, tiny_train, tiny_images):
    from gan_core.data.datasets import ImageSet
    from gan_core.training.jobs import TrainingJob
    from ui.train.files import check_name, checkpoint_zip, run_csv, training_gif

    job = TrainingJob(tiny_model, tiny_train, images=ImageSet(tiny_images, name="digits"))
    job.start()
    job.join(TIMEOUT)
    text = run_csv(job).decode()
    assert "# model.g_width,4" in text and "# train.max_steps,3" in text
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert lines[0].startswith("step,epoch,loss_d") and len(lines) == 1 + 3
    assert training_gif(job)[:6] == b"GIF89a"
    assert checkpoint_zip(job)[:2] == b"PK" and job.snapshot().saved_to is None
    with pytest.raises(ValueError):
        check_name("../x")
