"""Hostile and odd image files: decompression bombs, truncated and foreign files, 16-bit, palette+transparency,
RGBA, CMYK, EXIF rotation, 1x1 — each skipped with a counted reason or converted correctly; zero usable -> DataError."""
from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.data.datasets import DataError, load_images
from gan_core.data.decoding import ImageLimits, decode_image

LIMITS = ImageLimits()


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_header(width: int, height: int, extra_chunks: bytes = b"") -> bytes:
    """A PNG whose IHDR declares width x height (8-bit greyscale) but whose IDAT holds only a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra_chunks
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b""))


def decode(data: bytes, channels: int = 1, size: int = 16) -> np.ndarray:
    return decode_image(data, image_size=size, channels=channels, limits=LIMITS)


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (8_000, 8_000), (2**31 - 1, 2**31 - 1)])
def test_decompression_bomb_header_refused_fast_without_memory(width, height):
    bomb = png_with_header(width, height)
    assert len(bomb) < 200
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="too many pixels"):
        decode(bomb)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 5 and peak < 16 << 20    # loose: a decoded 8000^2 image alone would be 64 MB


def test_huge_text_chunk_is_an_unreadable_skip_not_a_pillow_message():
    # a zTXt chunk inflating to 64 MiB inside a 16x16 PNG: Pillow refuses it; the reason stays one of ours
    ztxt = _chunk(b"zTXt", b"comment\x00\x00" + zlib.compress(b"A" * (64 << 20), 9))
    with pytest.raises(ValueError) as err:
        decode(png_with_header(16, 16, ztxt))
    assert str(err.value) in ("unreadable", "too large")


def test_truncated_and_foreign_files_are_unreadable():
    good = encode(Image.new("L", (32, 32), 128))
    with pytest.raises(ValueError, match="^unreadable$"):
        decode(good[: len(good) // 2])
    with pytest.raises(ValueError, match="^unreadable$"):
        decode(b"this is a text file that pretends to be a picture\n" * 10)
    with pytest.raises(ValueError, match="^unreadable$"):
        decode(b"")


def test_one_pixel_image_is_too_small():
    with pytest.raises(ValueError, match="^too small$"):
        decode(encode(Image.new("RGB", (1, 1), (1, 2, 3))))


def test_16_bit_png_is_scaled_not_clipped():
    # a constant 16-bit grey of 30000 is 30000/65535 = 45.8% grey -> 117 in 8 bits (clipping would give 255)
    flat = Image.fromarray(np.full((32, 32), 30000, dtype=np.uint16))
    data = encode(flat)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = decode(data)
    assert out.shape == (1, 16, 16) and out.dtype == np.uint8
    assert np.all(out == round(30000 * 255 / 65535))
    # a full-range ramp keeps its range: darkest -> 0, brightest -> 255, increasing along the row
    ramp = Image.fromarray(np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1)))
    row = decode(encode(ramp), size=64)[0, 32].astype(int)
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row) >= 0)
    assert 100 < row[32] < 155


def test_palette_with_transparency_composited_on_white():
    img = Image.new("P", (16, 16), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)      # index 0 black (transparent), 1 red
    img.paste(1, (8, 0, 16, 16))                          # right half red
    data = encode(img, transparency=0)
    assert Image.open(io.BytesIO(data)).info.get("transparency") == 0
    rgb = decode(data, channels=3)                        # (3, 16, 16)
    assert tuple(rgb[:, 8, 2]) == (255, 255, 255)         # transparent black -> the white background
    assert tuple(rgb[:, 8, 13]) == (255, 0, 0)


def test_rgba_half_alpha_blends_with_white():
    img = Image.new("RGBA", (16, 16), (0, 0, 0, 128))     # half-transparent black
    grey = decode(encode(img))
    assert np.all(np.abs(grey.astype(int) - 127) <= 1)


def test_cmyk_jpeg_converted_to_rgb():
    img = Image.new("CMYK", (32, 32), (0, 0, 0, 0))       # no ink: white
    img.paste((255, 0, 0, 0), (16, 0, 32, 32))            # right half full cyan
    data = encode(img, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    rgb = decode(data, channels=3).astype(int)            # (3, 16, 16)
    assert np.all(np.abs(rgb[:, 8, 2] - 255) <= 8)
    assert abs(rgb[0, 8, 13] - 0) <= 8 and np.all(np.abs(rgb[1:, 8, 13] - 255) <= 8)


def test_exif_orientation_applied():
    img = Image.new("L", (32, 32), 0)
    img.paste(255, (16, 0, 32, 32))                       # stored: left black, right white
    exif = Image.Exif()
    exif[0x0112] = 3                                      # Orientation: rotate 180 for display
    out = decode(encode(img, "JPEG", quality=95, exif=exif.tobytes()))[0].astype(int)
    assert out[8, 2] > 200 and out[8, 13] < 50            # displayed: left white, right black


def test_mixed_folder_counts_every_skip(tmp_path: Path):
    d = tmp_path / "mixed"
    (d / "sub").mkdir(parents=True)
    (d / "ok.png").write_bytes(encode(Image.new("RGB", (20, 30), (10, 200, 30))))
    (d / "sub" / "ok16.png").write_bytes(encode(Image.fromarray(np.full((20, 20), 999, np.uint16))))
    (d / "cmyk.jpg").write_bytes(encode(Image.new("CMYK", (20, 20), (0, 0, 0, 0)), "JPEG"))
    (d / "pal.png").write_bytes(encode(Image.new("P", (20, 20), 0), transparency=0))
    (d / "trunc.png").write_bytes(encode(Image.new("L", (64, 64), 3))[:60])
    (d / "fake.jpg").write_text("not a jpeg")
    (d / "dot.png").write_bytes(encode(Image.new("L", (1, 1))))
    (d / "bomb.png").write_bytes(png_with_header(50_000, 50_000))
    (d / "notes.txt").write_text("hello")
    data = load_images(str(d), image_size=16, channels=3)
    assert data.images.shape == (4, 3, 16, 16)
    assert data.skipped == {"unreadable": 2, "too small": 1, "too many pixels": 1, "not an image file": 1}


def test_folder_without_usable_images_is_one_clear_error(tmp_path: Path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "a.png").write_text("no")
    (d / "b.jpg").write_bytes(b"\xff\xd8\xff")
    (d / "c.png").write_bytes(encode(Image.new("L", (1, 1))))
    with pytest.raises(DataError) as err:
        load_images(str(d), image_size=16, channels=1)
    msg = str(err.value)
    assert "no usable images" in msg and "2 unreadable" in msg and "1 too small" in msg
    assert "\n" not in msg and "Traceback" not in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no usable images.*no image files found"):
        load_images(str(empty), image_size=16, channels=1)
