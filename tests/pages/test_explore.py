"""AppTest of the Explore page on a tiny checkpoint: sections render, the download buttons' payloads are valid
PNG / ZIP / GIF / .npy bytes, interpolation endpoints equal the keyframe seeds' images, uploads load, a pickle
is refused, nudging changes the image and Reset restores it, offline Hub and Publish give clear messages."""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from ui.explore.sources import BUNDLED, PTH, RUNS, UPLOAD
from tests.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "explore.py")


class RecordingStorage(MemoryMediaFileStorage):
    """The real in-memory media storage AppTest uses, remembered so a test can read download payloads."""
    latest: "RecordingStorage | None" = None

    def __init__(self, media_endpoint: str) -> None:
        super().__init__(media_endpoint)
        RecordingStorage.latest = self


class RecordingManager(MediaFileManager):
    """The real media file manager, remembered so a test can run a deferred download as a click would."""
    latest: "RecordingManager | None" = None

    def __init__(self, storage) -> None:
        super().__init__(storage)
        RecordingManager.latest = self


def record_media(monkeypatch) -> None:
    import streamlit.testing.v1.app_test as app_test_module

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingManager)


@pytest.fixture
def page(monkeypatch, tiny_checkpoint):
    record_media(monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["explore_source"] = str(tiny_checkpoint)
    at.session_state["explore_seeds"] = "3, 11, 12, 13"
    at.session_state["explore_keys"] = "3, 11"
    at.session_state["explore_steps"] = 5
    return at.run()


def payload(at: AppTest, key: str) -> bytes:
    """The bytes the browser would get: static downloads are stored at render time, deferred ones are built now
    by the same call the server makes when the button is clicked."""
    proto = next(b.proto for b in at.get("download_button") if b.key == key)
    url = RecordingManager.latest.execute_deferred(proto.deferred_file_id) if proto.deferred_file_id else proto.url
    return RecordingStorage.latest.get_file(url.rsplit("/", 1)[-1]).content


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_page_renders_sections_and_card(page):
    no_errors(page)
    assert [s.value for s in page.subheader] == ["Seed grid", "Interpolation", "Latent nudging"]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Preset"] == "dcgan" and metrics["z-dim"] == "8" and metrics["Image"] == "16×16×1"
    assert metrics["Data"] == "digits" and metrics["Steps"] == "3"


def test_download_payloads_are_valid_files(page):
    grid = Image.open(io.BytesIO(payload(page, "dl_grid_png")))
    assert grid.format == "PNG" and grid.mode == "L"
    with zipfile.ZipFile(io.BytesIO(payload(page, "dl_grid_zip"))) as zf:
        assert zf.namelist() == ["seed_000003.png", "seed_000011.png", "seed_000012.png", "seed_000013.png"]
        assert pixels(zf.read("seed_000003.png")).shape == (16, 16)
    z = np.load(io.BytesIO(payload(page, "dl_grid_npy")), allow_pickle=False)
    assert z.shape == (4, 8) and z.dtype == np.float32
    gif = Image.open(io.BytesIO(payload(page, "dl_gif")))
    assert gif.format == "GIF" and gif.n_frames == 5
    with zipfile.ZipFile(io.BytesIO(payload(page, "dl_strip_zip"))) as zf:
        assert zf.namelist() == [f"slerp_3-11_step_{k:03d}.png" for k in range(5)]
    assert Image.open(io.BytesIO(payload(page, "dl_strip_png"))).format == "PNG"
    assert np.load(io.BytesIO(payload(page, "dl_path_npy"))).shape == (5, 8)


def test_interpolation_endpoints_equal_keyframe_images(page, tiny_checkpoint):
    from gan_core.checkpoints.store import load_generator
    from gan_core.sampling import images_from_seeds

    api = images_from_seeds(load_generator(tiny_checkpoint).generator, [3, 11]).numpy()[:, 0]
    with zipfile.ZipFile(io.BytesIO(payload(page, "dl_grid_zip"))) as zf:
        grid3, grid11 = pixels(zf.read("seed_000003.png")), pixels(zf.read("seed_000011.png"))
    assert np.array_equal(grid3, api[0]) and np.array_equal(grid11, api[1])
    for mode in ("slerp", "lerp"):
        page.radio(key="explore_dl_mode").set_value(mode).run()
        with zipfile.ZipFile(io.BytesIO(payload(page, "dl_strip_zip"))) as zf:
            names = zf.namelist()
            assert np.array_equal(pixels(zf.read(names[0])), grid3)
            assert np.array_equal(pixels(zf.read(names[-1])), grid11)
            assert not np.array_equal(pixels(zf.read(names[2])), grid3)
        gif = Image.open(io.BytesIO(payload(page, "dl_gif")))     # greyscale GIF: palette exact; 8x enlarged
        gif.seek(0)
        assert np.array_equal(np.asarray(gif.convert("L"))[::8, ::8], grid3)
        gif.seek(gif.n_frames - 1)
        assert np.array_equal(np.asarray(gif.convert("L"))[::8, ::8], grid11)


def test_pingpong_and_frame_slider(page):
    page.checkbox(key="explore_pingpong").check().run()
    no_errors(page)
    assert Image.open(io.BytesIO(payload(page, "dl_gif"))).n_frames == 8   # 5 + 3 back, ends not repeated
    page.slider(key="explore_frame").set_value(7).run()
    no_errors(page)
    page.checkbox(key="explore_pingpong").uncheck().run()   # the frame slider is clamped to the shorter path
    no_errors(page)
    assert page.slider(key="explore_frame").value == 4


def test_nudge_changes_image_and_reset_restores(page):
    before = payload(page, "dl_nudge_png")
    page.slider(key="explore_nudge_0").set_value(2.0).run()
    no_errors(page)
    moved = payload(page, "dl_nudge_png")
    assert moved != before
    z = np.load(io.BytesIO(payload(page, "dl_nudge_npy")))
    page.button(key="explore_nudge_reset").click().run()
    assert page.slider(key="explore_nudge_0").value == 0.0
    assert payload(page, "dl_nudge_png") == before
    z0 = np.load(io.BytesIO(payload(page, "dl_nudge_npy")))
    assert z[0, 0] == pytest.approx(z0[0, 0] + 2.0)


def test_upload_config_and_safetensors(page, tiny_checkpoint):
    page.session_state["explore_source"] = None
    page.radio(key="explore_kind").set_value(UPLOAD).run()
    page.file_uploader(key="explore_up_config").upload("config.json", (tiny_checkpoint / "config.json").read_bytes())
    page.file_uploader(key="explore_up_weights").upload(
        "model.safetensors", (tiny_checkpoint / "model.safetensors").read_bytes())
    page.run()
    page.button(key="explore_load_upload").click().run()
    no_errors(page)
    assert "uploads" in page.session_state["explore_source"]
    assert {m.label: m.value for m in page.metric}["z-dim"] == "8"
    assert page.expander[0].label.startswith("Generator: ") and page.expander[0].label.endswith("(uploaded)")


def test_pickle_upload_is_refused(page, tiny_checkpoint):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    page.radio(key="explore_kind").set_value(PTH).run()
    page.file_uploader(key="explore_up_pth").upload("netG_epoch_24.pth", pickle.dumps(Evil()))
    page.run()
    page.button(key="explore_load_pth").click().run()
    assert not page.exception
    assert any("not a plain PyTorch state dict" in e.value for e in page.error)
    assert page.session_state["explore_source"] == str(tiny_checkpoint)   # still on the previous model

    page.radio(key="explore_kind").set_value(UPLOAD).run()
    page.file_uploader(key="explore_up_config").upload("config.json", (tiny_checkpoint / "config.json").read_bytes())
    page.file_uploader(key="explore_up_weights").upload("model.safetensors", pickle.dumps({"w": torch.zeros(2)}))
    page.run()
    page.button(key="explore_load_upload").click().run()
    assert not page.exception
    assert any("not a readable safetensors file" in e.value for e in page.error)


def test_offline_hub_and_publish_give_clear_messages(page, monkeypatch, tmp_path, tiny_checkpoint):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    page.text_input(key="explore_pub_repo").input("someone/dcgan-test").run()
    page.button(key="explore_publish").click().run()
    assert any("HF_HUB_OFFLINE" in e.value for e in page.error)
    page.radio(key="explore_kind").set_value("Hugging Face Hub").run()
    page.text_input(key="explore_repo").input("someone/not-cached").run()
    page.button(key="explore_load_hub").click().run()
    assert not page.exception
    assert any("not in the local Hugging Face cache" in e.value for e in page.error)
    assert page.session_state["explore_source"] == str(tiny_checkpoint)     # the current model stays on screen
    assert {m.label: m.value for m in page.metric}["z-dim"] == "8"


def test_default_is_first_bundled_checkpoint(monkeypatch):
    from gan_core.checkpoints.store import bundled_checkpoints

    names = bundled_checkpoints()
    if not names:
        pytest.skip("no bundled checkpoint")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["explore_seeds"] = "0-3"
    at.session_state["explore_steps"] = 4
    at.run()
    no_errors(at)
    assert at.radio(key="explore_kind").value == BUNDLED
    assert at.selectbox(key="explore_bundled").value == names[0]


def test_session_run_opens_in_explore_with_the_runs_weights(monkeypatch, tiny_model, tiny_images, tmp_path):
    """Train's "Open in Explore" hands over job:<id>: the page snapshots the run's G and shows its images."""
    from gan_core.config import TrainConfig
    from gan_core.data.datasets import ImageSet
    from gan_core.training.job_status import FINISHED
    from gan_core.training.jobs import TrainingJob
    from gan_core.checkpoints.store import load_generator
    from gan_core.sampling import images_from_seeds
    from ui import state

    record_media(monkeypatch)
    cfg = TrainConfig(max_steps=4, batch_size=8, device="cpu", sample_every=2, metrics_every=1)
    job = TrainingJob(tiny_model, cfg, owner="explore-test-owner", images=ImageSet(tiny_images, "digits"))
    state.job_manager().submit(job)
    job.join(120)
    assert job.snapshot().status == FINISHED
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["owner_id"] = job.owner
    at.session_state["explore_source"] = f"job:{job.id}"
    at.session_state["explore_seeds"] = "5, 6"
    at.run()
    no_errors(at)
    assert "runs" in at.session_state["explore_source"] and at.radio(key="explore_kind").value == RUNS
    assert {m.label: m.value for m in at.metric}["Steps"] == "4"
    # the run's generator, as its training process left it at the end (its final checkpoint)
    generator = load_generator(job.save(tmp_path / "final", with_training_state=False, remember=False)).generator
    expected = images_from_seeds(generator, [5, 6]).numpy()[:, 0]
    with zipfile.ZipFile(io.BytesIO(payload(at, "dl_grid_zip"))) as zf:
        assert np.array_equal(pixels(zf.read("seed_000005.png")), expected[0])
        assert np.array_equal(pixels(zf.read("seed_000006.png")), expected[1])
    # A run another session owns is not offered.
    at.session_state["explore_source"] = "job:someone-elses"
    at.run()
    assert any("no longer available" in e.value for e in at.error)


def test_pth_upload_imports_with_given_sizes(page):
    from gan_core.config import ModelConfig
    from gan_core.models import Generator

    torch.manual_seed(0)
    g = Generator(ModelConfig(preset="dcgan", image_size=64, channels=3, z_dim=8, g_width=4, d_width=4))
    buf = io.BytesIO()
    torch.save({k.replace("body.", "main."): v for k, v in g.state_dict().items()}, buf)   # netG's key names
    page.radio(key="explore_kind").set_value(PTH).run()
    page.file_uploader(key="explore_up_pth").upload("netG_epoch_24.pth", buf.getvalue())
    page.run()
    assert any("nz=8, ngf=4, channels=3" in c.value for c in page.caption)
    page.number_input(key="explore_pth_nz").set_value(8)
    page.number_input(key="explore_pth_ngf").set_value(4)
    page.run()
    page.button(key="explore_load_pth").click().run()
    no_errors(page)
    assert "imports" in page.session_state["explore_source"]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Image"] == "64×64×3" and metrics["z-dim"] == "8"
    assert Image.open(io.BytesIO(payload(page, "dl_grid_png"))).mode == "RGB"


def test_pick_keyframes_from_grid_and_shuffle(page):
    page.multiselect(key="explore_pick").set_value([13, 3]).run()
    page.button(key="explore_use_pick").click().run()
    no_errors(page)
    assert page.text_input(key="explore_keys").value == "13, 3"
    assert any(c.value.startswith("5 frames: 13 → 3") for c in page.caption)
    page.button(key="explore_shuffle").click().run()
    no_errors(page)
    start, end = map(int, page.text_input(key="explore_seeds").value.split("-"))
    assert end - start == 15


def test_page_downloads_equal_cli_outputs(page, tiny_checkpoint, tmp_path):
    """Same checkpoint and seeds: the page's grid PNG, strip PNG and GIF are the CLI's files, byte for byte."""
    from gan_core.cli import main

    ck = str(tiny_checkpoint)
    assert main(["sample", "--checkpoint", ck, "--seeds", "3,11,12,13", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes() == payload(page, "dl_grid_png")
    for out, key in (("i.png", "dl_strip_png"), ("i.gif", "dl_gif")):
        assert main(["interpolate", "--checkpoint", ck, "--seeds", "3,11", "--steps", "5",
                     "--out", str(tmp_path / out)]) == 0
        assert (tmp_path / out).read_bytes() == payload(page, key), out
