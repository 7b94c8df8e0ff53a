"""Train page with hostile input (AppTest): bad folder paths, fake zips, zip bombs, junk folders and traversal zips
give one short st.error (or load safely), never an exception or a traceback on the page; Start stays disabled."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from tests.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "train.py")


def png(value: int = 90, size: int = 20) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (size, size), value).save(buf, "PNG")
    return buf.getvalue()


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("faces/0001.png", bytes(8 << 20))         # 8 MiB of zeros -> ~8 KB: ratio ~1000
    return buf.getvalue()


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def assert_one_short_error(at: AppTest, *words: str) -> None:
    assert not at.exception, at.exception
    errs = errors(at)
    assert len(errs) == 1, errs
    assert all(w in errs[0] for w in words), errs[0]
    assert "Traceback" not in errs[0] and 'File "' not in errs[0] and len(errs[0]) < 400
    assert at.button(key="start").disabled


def use_folder(at: AppTest, path: str) -> AppTest:
    at.selectbox(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").set_value(path)
    return at.run()


def test_missing_folder_path(at, tmp_path):
    use_folder(at, str(tmp_path / "no" / "such" / "folder"))
    assert_one_short_error(at, "does not exist")


def test_folder_of_junk_is_one_clear_error(at, tmp_path):
    (tmp_path / "a.png").write_text("not an image")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff\x00")
    (tmp_path / "tiny.png").write_bytes(png(size=1))
    use_folder(at, str(tmp_path))
    assert_one_short_error(at, "no usable images", "2 unreadable", "1 too small")


def test_path_to_a_non_zip_file(at, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    use_folder(at, str(f))
    assert_one_short_error(at, "neither a folder nor a .zip")


@pytest.mark.parametrize("name,data,words", [
    ("photos.zip", b"PK\x03\x04 this is not really a zip", ("not a readable .zip",)),
    ("faces.zip", bomb(), ("zip bomb", "refused")),
    ("empty.zip", zip_of({}), ("the archive is empty",)),
    ("junk.zip", zip_of({"a.png": b"nope", "b.txt": b"hi"}), ("no usable images",)),
], ids=["fake-zip", "zip-bomb", "empty", "junk"])
def test_bad_uploads_show_one_short_error(at, name, data, words):
    at.selectbox(key="data_source").set_value("upload").run()
    at.file_uploader(key="data_upload").upload(name, data)
    at.run()
    assert_one_short_error(at, *words)


def test_traversal_zip_upload_loads_in_memory_and_writes_nothing(at, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    members = {f"../evil{i}.png": png(20 * i) for i in range(3)}
    members["/tmp/dcgan_app_abs_evil.png"] = png(200)
    at.selectbox(key="data_source").set_value("upload").run()
    at.file_uploader(key="data_upload").upload("faces.zip", zip_of(members))
    at.run()
    assert not at.exception and not errors(at)
    assert not at.button(key="start").disabled                 # 4 images decoded from memory, ready to train
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not list(tmp_path.iterdir()) and not Path("/tmp/dcgan_app_abs_evil.png").exists()
