"""Decoding user image files (a folder or a zip) safely into uint8 arrays of one size and channel count.

Zips are read member by member in memory and never extracted, so member names (`../x`, `/etc/x`) are only
labels. Caps: member/file count, declared and actual uncompressed bytes, per-member compression ratio, and
pixels per image (decompression bombs). Every file that cannot be used is counted under a reason.
"""
from __future__ import annotations

import io
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image, ImageOps

from gan_core.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm",
                  ".tga", ".ico"}


@dataclass(frozen=True)
class ImageLimits:
    max_files: int = 50_000
    max_total_bytes: int = 1 << 30          # 1 GiB of image bytes, uncompressed
    max_file_bytes: int = 50 << 20          # 50 MiB per image file
    max_ratio: float = 100.0                # zip: uncompressed / compressed per member
    max_pixels: int = 40_000_000            # declared width x height per image
    min_side: int = 2                       # a 1x1 image carries no picture


class ArchiveError(UserError):
    """The archive as a whole is refused (too many members, too large, a zip bomb, not a zip)."""


class _Skip(ValueError):
    """One of our skip reasons (Pillow's own ValueErrors are mapped to 'unreadable', never shown as reasons)."""


def _to_mode(img: Image.Image, channels: int, background: tuple[int, int, int]) -> Image.Image:
    """Any Pillow mode -> 'L' or 'RGB'. Transparency is composited onto `background`; 16-bit is scaled, not clipped."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).round().astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).round().astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, background + (255,))
        img = Image.alpha_composite(base, rgba)
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return img.convert("L" if channels == 1 else "RGB")


def decode_image(data: bytes, *, image_size: int, channels: int, limits: ImageLimits,
                 background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """bytes -> uint8 (C, size, size). Raises ValueError('reason') for a file to skip."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > limits.max_pixels:
                raise _Skip("too many pixels")
            if min(w, h) < limits.min_side:
                raise _Skip("too small")
            img.load()
        except _Skip:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError("too many pixels") from None
        except Exception:  # PIL raises many types for truncated or foreign files
            raise ValueError("unreadable") from None
    try:
        img = ImageOps.exif_transpose(_to_mode(img, channels, background))
        # Short side resized to image_size, centre-cropped to a square (ImageOps.fit does both).
        img = ImageOps.fit(img, (image_size, image_size), method=Image.Resampling.BICUBIC)
    except Exception:
        raise ValueError("unreadable") from None
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _stack(arrays: list[np.ndarray], image_size: int, channels: int) -> torch.Tensor:
    if not arrays:
        return torch.empty(0, channels, image_size, image_size, dtype=torch.uint8)
    return torch.from_numpy(np.stack(arrays))


def _decode_all(items: Iterator[tuple[str, Callable[[], bytes]]], total: int, *, image_size: int, channels: int,
                limits: ImageLimits, progress: Callable[[int, int], None] | None) -> tuple[torch.Tensor, dict]:
    arrays: list[np.ndarray] = []
    skipped: Counter[str] = Counter()
    for i, (name, read) in enumerate(items):
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            skipped["not an image file"] += 1
            continue
        try:
            arrays.append(decode_image(read(), image_size=image_size, channels=channels, limits=limits))
        except ValueError as exc:
            skipped[str(exc)] += 1
        if progress and (i % 64 == 0 or i + 1 == total):
            progress(i + 1, total)
    return _stack(arrays, image_size, channels), dict(skipped)


def _too_large() -> bytes:
    raise ValueError("too large")


def decode_folder(root: Path, *, image_size: int, channels: int, limits: ImageLimits,
                  progress: Callable[[int, int], None] | None = None) -> tuple[torch.Tensor, dict]:
    files: list[Path] = []
    links = 0  # symlinks are never followed (they could point anywhere); they are counted as skipped
    for p in root.rglob("*"):  # counted while walking: a huge tree (say, /) is refused without listing it all
        if p.is_symlink():
            links += 1
        elif p.is_file():
            files.append(p)
            if len(files) > limits.max_files:
                raise ArchiveError(f"the folder has more than {limits.max_files} files; use a smaller folder")
    files.sort()
    total_bytes = sum(p.stat().st_size for p in files)
    if total_bytes > limits.max_total_bytes:
        raise ArchiveError(f"the folder holds {total_bytes / 2**20:.0f} MiB; the limit is "
                           f"{limits.max_total_bytes / 2**20:.0f} MiB")

    def items() -> Iterator[tuple[str, Callable[[], bytes]]]:
        for p in files:
            yield p.name, (_too_large if p.stat().st_size > limits.max_file_bytes else p.read_bytes)

    images, skipped = _decode_all(items(), len(files), image_size=image_size, channels=channels, limits=limits,
                                  progress=progress)
    if links:
        skipped["link (not followed)"] = links
    return images, skipped


def decode_zip(source: Path | bytes, *, image_size: int, channels: int, limits: ImageLimits,
               progress: Callable[[int, int], None] | None = None) -> tuple[torch.Tensor, dict]:
    """Decode the images inside a zip without extracting it. Refuses bombs before reading any member."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError):
        raise ArchiveError("this file is not a readable .zip archive") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if not members:
            raise ArchiveError("the archive is empty")
        if len(members) > limits.max_files:
            raise ArchiveError(f"the archive has {len(members)} files; the limit is {limits.max_files}")
        declared = sum(m.file_size for m in members)
        if declared > limits.max_total_bytes:
            raise ArchiveError(f"the archive unpacks to {declared / 2**20:.0f} MiB; the limit is "
                               f"{limits.max_total_bytes / 2**20:.0f} MiB")
        for m in members:
            if m.file_size > 1 << 20 and m.file_size > limits.max_ratio * max(m.compress_size, 1):
                raise ArchiveError(f"the archive looks like a zip bomb ({m.filename!r} expands "
                                   f"{m.file_size / max(m.compress_size, 1):.0f}x); refused")

        def read(m: zipfile.ZipInfo) -> Callable[[], bytes]:
            def _read() -> bytes:
                if m.file_size > limits.max_file_bytes:
                    raise ValueError("too large")
                try:  # read at most the declared size + 1: a lying header cannot inflate more
                    with zf.open(m) as f:
                        data = f.read(m.file_size + 1)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
                    raise ValueError("unreadable") from None
                if len(data) > m.file_size:
                    raise ValueError("size does not match the archive header")
                return data
            return _read

        def items() -> Iterator[tuple[str, Callable[[], bytes]]]:
            for m in members:
                yield m.filename, read(m)

        return _decode_all(items(), len(members), image_size=image_size, channels=channels, limits=limits,
                           progress=progress)
