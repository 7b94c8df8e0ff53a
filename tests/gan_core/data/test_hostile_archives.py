"""Hostile archives and folders: path-traversal members, zip bombs (ratio, declared size, lying headers), too many
members, empty or fake zips, encrypted members, symlinks — refused fast with a message, or skipped and counted;
nothing is ever extracted or written."""
from __future__ import annotations

import io
import os
import pathlib
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from gan_core.data.datasets import DataError, load_images
from gan_core.data.decoding import ArchiveError, ImageLimits, decode_folder, decode_zip


def png(value: int = 128, size: int = 20) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (size, size), value).save(buf, "PNG")
    return buf.getvalue()


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)   # ZipInfo keeps the name raw
    return buf.getvalue()


def patch_central(data: bytes, *, first_only: bool = False, **fields: int) -> bytes:
    """Rewrite fields of central-directory entries (the sizes and flags zipfile trusts before reading)."""
    offsets = {"flags": (8, "<H"), "method": (10, "<H"), "compressed": (20, "<I"), "size": (24, "<I")}
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        for name, value in fields.items():
            off, fmt = offsets[name]
            struct.pack_into(fmt, out, pos + off, value)
        pos = -1 if first_only else out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def decode(source, **limits) -> tuple:
    return decode_zip(source, image_size=16, channels=1, limits=ImageLimits(**limits))


def test_traversal_members_are_decoded_in_memory_and_never_written(tmp_path, monkeypatch):
    names = ["../evil.png", "../../evil2.png", "/tmp/dcgan_studio_abs_evil.png", "..\\win_evil.png",
             "ok/../../up.png", "C:/drive_evil.png"]
    archive = tmp_path / "inbox" / "upload.zip"
    archive.parent.mkdir()
    archive.write_bytes(make_zip({n: png(10 * i) for i, n in enumerate(names)}))
    work = tmp_path / "inbox" / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before = tree(tmp_path)
    data = load_images(str(archive), image_size=16, channels=1)
    assert data.images.shape == (len(names), 1, 16, 16) and data.skipped == {}
    assert tree(tmp_path) == before                              # nothing new anywhere under the test's root
    assert not Path("/tmp/dcgan_studio_abs_evil.png").exists()
    assert not (tmp_path.parent / "evil.png").exists() and not (tmp_path.parent.parent / "evil2.png").exists()


def _deflate_bomb(size: int) -> bytes:
    """One member of `size` zero bytes, streamed into the zip (deflate: ~1000x) without holding it in memory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        info = zipfile.ZipInfo("bomb.png")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    return buf.getvalue()


def test_ratio_bomb_refused_before_inflating():
    bomb = _deflate_bomb(64 << 20)                                # 64 MiB of zeros in ~64 KB
    assert len(bomb) < 1 << 20
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ArchiveError, match="zip bomb"):
        decode(bomb)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 5 and peak < 8 << 20                         # loose bounds: inflating would take 64 MiB


def test_declared_total_size_refused_before_reading():
    real = make_zip({f"{i}.png": png(i) for i in range(3)})
    lying = patch_central(real, size=0xF000_0000)                # each member now claims 3.75 GiB
    with pytest.raises(ArchiveError, match=r"unpacks to \d+ MiB; the limit is 1024 MiB"):
        decode(lying)
    with pytest.raises(ArchiveError, match="unpacks to"):       # and the cap is configurable
        decode(real, max_total_bytes=100)


def test_header_that_understates_the_size_cannot_inflate_more(tmp_path):
    # the member really inflates to 32 MiB but the central directory says 200 bytes: at most 201 bytes are read
    real = make_zip({"a.png": bytes(32 << 20), "b.png": png()})
    lying = patch_central(real, first_only=True, size=200)
    tracemalloc.start()
    images, skipped = decode(lying)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert images.shape[0] == 1 and skipped == {"unreadable": 1} and peak < 8 << 20


def test_too_many_members_refused():
    with pytest.raises(ArchiveError, match="has 11 files; the limit is 10"):
        decode(make_zip({f"{i}.png": b"" for i in range(11)}, compression=zipfile.ZIP_STORED), max_files=10)


def test_default_member_cap_refuses_fifty_thousand_and_one():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(50_001):
            zf.writestr(f"{i}.png", b"")
    with pytest.raises(ArchiveError, match="limit is 50000"):
        decode_zip(buf.getvalue(), image_size=16, channels=1, limits=ImageLimits())


def test_empty_fake_and_directory_only_archives(tmp_path):
    with pytest.raises(ArchiveError, match="the archive is empty"):
        decode(make_zip({}))
    only_dirs = io.BytesIO()
    with zipfile.ZipFile(only_dirs, "w") as zf:
        zf.writestr(zipfile.ZipInfo("images/"), b"")
    with pytest.raises(ArchiveError, match="the archive is empty"):
        decode(only_dirs.getvalue())
    fake = tmp_path / "photos.zip"
    fake.write_bytes(png())                                      # a PNG renamed .zip
    with pytest.raises(ArchiveError, match="not a readable .zip"):
        load_images(str(fake), image_size=16, channels=1)
    text = tmp_path / "notes.zip"
    text.write_text("hello")
    with pytest.raises(ArchiveError, match="not a readable .zip"):
        load_images(str(text), image_size=16, channels=1)


def test_zip_with_no_usable_images_is_one_clear_error(tmp_path):
    z = tmp_path / "junk.zip"
    z.write_bytes(make_zip({"readme.txt": b"hi", "a.png": b"nope", "b.png": png(size=1)}))
    with pytest.raises(DataError, match=r"no usable images in .*junk.zip \(1 not an image file, 1 unreadable, "
                                        r"1 too small\)"):
        load_images(str(z), image_size=16, channels=1)


@pytest.mark.parametrize("patch", [{"flags": 0x1}, {"method": 99}], ids=["encrypted", "unknown-compression"])
def test_unreadable_members_are_skipped_and_counted(patch):
    bad = patch_central(make_zip({"x.png": png()}), **patch)
    images, skipped = decode(bad)
    assert images.shape[0] == 0 and skipped == {"unreadable": 1}


def test_folder_links_not_followed_and_counted(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png(7))
    d = tmp_path / "data"
    d.mkdir()
    (d / "real.png").write_bytes(png(200))
    (d / "link.png").symlink_to(outside)
    (d / "loop").symlink_to(d, target_is_directory=True)          # a directory cycle must not hang the walk
    images, skipped = decode_folder(d, image_size=16, channels=1, limits=ImageLimits())
    assert images.shape[0] == 1 and int(images[0, 0, 0, 0]) == 200
    assert skipped == {"link (not followed)": 2}


def test_huge_folder_refused_while_walking(tmp_path, monkeypatch):
    d = tmp_path / "big"
    d.mkdir()
    for i in range(40):
        (d / f"{i}.png").write_bytes(b"")
    seen = []
    real_rglob = pathlib.Path.rglob

    def counting_rglob(self, pattern):                           # a spy: counts entries the walk yields
        for p in real_rglob(self, pattern):
            seen.append(p)
            yield p

    monkeypatch.setattr(pathlib.Path, "rglob", counting_rglob)
    with pytest.raises(ArchiveError, match="more than 5 files"):
        decode_folder(d, image_size=16, channels=1, limits=ImageLimits(max_files=5))
    assert len(seen) <= 6                                        # stopped at the limit, not after listing all 40


def test_oversized_file_skipped_without_reading(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    (d / "big.png").write_bytes(png(size=400))
    (d / "ok.png").write_bytes(png())
    size = os.path.getsize(d / "big.png")
    images, skipped = decode_folder(d, image_size=16, channels=1, limits=ImageLimits(max_file_bytes=size - 1))
    assert images.shape[0] == 1 and skipped == {"too large": 1}


@pytest.mark.parametrize("kind", ["fake-zip", "bomb", "empty-folder"])
def test_cli_refuses_hostile_data_in_one_line(tmp_path, capsys, kind):
    from gan_core.cli import main

    if kind == "fake-zip":
        src = tmp_path / "x.zip"
        src.write_bytes(b"PK\x03\x04 nope")
    elif kind == "bomb":
        src = tmp_path / "bomb.zip"
        src.write_bytes(_deflate_bomb(4 << 20))
    else:
        src = tmp_path / "nothing"
        src.mkdir()
    code = main(["train", "--dataset", str(src), "--image-size", "16", "--max-steps", "2", "--device", "cpu",
                 "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
