"""Public mode on the pages (AppTest, DCGAN_STUDIO_PUBLIC=1): no server-folder source even from crafted widget
state, upload caps refused with a message naming the limit (10,000 tiny images in a zip, 100 MB), runs over the
size limits refused, the limits stated on the page, and Hub publishing only with a typed token, used once."""
from __future__ import annotations

import io
import shutil
import zipfile

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.paths import REPO_ROOT

TRAIN = str(REPO_ROOT / "pages" / "train.py")
EXPLORE = str(REPO_ROOT / "pages" / "explore.py")


@pytest.fixture(autouse=True)
def public_mode(monkeypatch):
    monkeypatch.setenv("DCGAN_STUDIO_PUBLIC", "1")


@pytest.fixture
def train() -> AppTest:
    at = AppTest.from_file(TRAIN, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def tiny_png_zip(n: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (4, 4), 128).save(buf, "PNG")
    png = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"img{i:05d}.png", png)
    return out.getvalue()


def test_no_folder_source_and_the_limits_are_stated(train):
    options = train.selectbox(key="data_source").options
    assert "A folder of images on this computer" not in options and "Upload a .zip or image files" in options
    text = captions(train)
    assert "stops (keeping its checkpoint) after 3,000 steps" in text and "at most 4 runs wait" in text
    train.selectbox(key="data_source").set_value("upload").run()
    assert "at most 50 MB in all, 5,000 images" in captions(train)


def test_crafted_folder_state_opens_no_path(tmp_path):
    (tmp_path / "secret.png").write_bytes(b"x")
    at = AppTest.from_file(TRAIN, default_timeout=120)
    at.session_state["data_source"] = "folder"          # as if the browser sent a value the page never offers
    at.session_state["data_folder"] = str(tmp_path)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="data_source").value != "folder"
    assert not [w for w in at.text_input if w.key == "data_folder"]    # no path box is drawn
    assert not any(str(tmp_path) in e for e in errors(at))


def _load_folder(path: str) -> None:
    from gan_core.config import ModelConfig
    from ui.train.data import load

    load("folder", path, ModelConfig(image_size=16))


def test_the_train_loader_refuses_a_folder_source(tmp_path):
    """Even if the page handed 'folder' and a path to the loader, it refuses it with the public-server rule."""
    at = AppTest.from_function(_load_folder, args=(str(tmp_path),), default_timeout=60).run()
    assert not at.exception, at.exception
    assert errors(at) == ["This is a public server: it does not read folders on its own disk; upload a .zip "
                          "instead."]


def test_the_engine_refuses_typed_paths():
    from gan_core.checkpoints.store import CheckpointError, resolve_source
    from gan_core.data.datasets import DataError, load_images

    with pytest.raises(DataError, match="public server: it does not open paths"):
        load_images("/etc", image_size=16, channels=1)
    with pytest.raises(CheckpointError, match="public server"):
        resolve_source("/etc")
    with pytest.raises(CheckpointError, match="public server"):
        resolve_source(str(REPO_ROOT / ".." / ".." / "etc"))


def test_ten_thousand_tiny_images_in_a_zip_are_refused(train):
    train.selectbox(key="data_source").set_value("upload").run()
    train.file_uploader(key="data_upload").upload("many.zip", tiny_png_zip(10_000))
    train.run()
    assert not train.exception
    assert any("10000 files; the limit is 5000" in e for e in errors(train)), errors(train)
    assert train.button(key="start").disabled


def test_a_100_mb_upload_is_refused_before_decoding(train):
    train.selectbox(key="data_source").set_value("upload").run()
    train.file_uploader(key="data_upload").upload("big.zip", bytes(100 << 20))
    train.run()
    assert not train.exception
    assert errors(train) == ["Upload refused: the upload is 100 MB; the public limit is 50 MB in all."]
    assert train.button(key="start").disabled


def test_large_model_is_refused_naming_the_limit(train):
    train.selectbox(key="image_size").set_value(128).run()
    assert "Settings not valid: image size 128 px is over the public limit of 64 px" in errors(train)
    train.selectbox(key="image_size").set_value(64).run()
    train.number_input(key="g_width").set_value(1024).run()
    assert "Settings not valid: G width 1024 is over the public limit of 64" in errors(train)
    assert train.button(key="start").disabled


def test_publish_needs_a_typed_token_used_once(monkeypatch, tmp_path, tiny_checkpoint, studio_home):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_TOKEN", "hf_server_token_must_not_be_used")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    ckpt = shutil.copytree(tiny_checkpoint, studio_home / "checkpoints" / "tiny")   # inside the app's data dir
    at = AppTest.from_file(EXPLORE, default_timeout=60)
    at.session_state["explore_source"] = str(ckpt)
    at.run()
    assert not at.exception, at.exception
    at.text_input(key="explore_pub_repo").input("someone/dcgan-test").run()
    assert at.button(key="explore_publish").disabled                   # no token typed: the server's is never used
    assert "Publish is off until you type a write token" in captions(at)
    at.text_input(key="explore_pub_token").input("hf_visitor_secret").run()
    assert not at.button(key="explore_publish").disabled
    at.button(key="explore_publish").click().run()
    assert not at.exception
    assert errors(at)                                                  # offline: a clear error, no upload
    assert at.text_input(key="explore_pub_token").value == ""           # used once, not kept in the session
    assert all("hf_visitor_secret" not in repr(at.session_state[k])
               for k in ("explore_pub_token", "explore_pub_token_once"))
    assert not any("hf_visitor_secret" in e for e in errors(at))


def test_typed_paths_are_not_checkpoint_sources(tiny_checkpoint):
    from gan_core.checkpoints.store import CheckpointError, resolve_source

    with pytest.raises(CheckpointError, match="public server"):
        resolve_source(str(tiny_checkpoint))                      # a real checkpoint, but outside the data dir


def test_named_checkpoints_are_per_run(tiny_model, tiny_train, tiny_images, studio_home):
    """Public mode: 'Save checkpoint' as 'mine' lands in <job id prefix>-mine, so visitors cannot overwrite or
    guess each other's folders."""
    from gan_core.data.datasets import ImageSet
    from gan_core.training.job_manager import JobManager
    from gan_core.training.jobs import TrainingJob
    from ui.train.files import save_named

    job = JobManager().submit(TrainingJob(tiny_model, tiny_train, images=ImageSet(tiny_images, "digits")))
    job.join(60)
    path = save_named(job, "mine")
    assert path == studio_home / "checkpoints" / f"{job.id[:12]}-mine" and (path / "model.safetensors").is_file()
