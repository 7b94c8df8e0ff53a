"""Bytes for downloads: PNG images and grids, ZIPs of PNGs, animated GIFs, .npy arrays (torchvision + Pillow).

All functions take uint8 tensors (C, H, W) or (N, C, H, W) on the CPU and return `bytes`, so the UI can hand
them straight to a download button and the CLI can write them to a file.
"""
from __future__ import annotations

import io
import zipfile
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.io import ImageReadMode, decode_image
from torchvision.utils import make_grid


def to_pil(image: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W), C in {1, 3} -> PIL image ('L' or 'RGB')."""
    arr = image.detach().cpu().numpy()
    if arr.shape[0] == 1:
        return Image.fromarray(arr[0], "L")
    return Image.fromarray(arr.transpose(1, 2, 0), "RGB")


def png_bytes(image: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG")
    return buf.getvalue()


def grid(images: torch.Tensor, *, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (C, H', W'). make_grid makes 1-channel grids 3-channel; keep them greyscale."""
    g = make_grid(images, nrow=nrow, padding=padding, pad_value=0)
    return g[:1] if images.shape[1] == 1 else g


def grid_png(images: torch.Tensor, *, nrow: int = 8, padding: int = 2) -> bytes:
    return png_bytes(grid(images, nrow=nrow, padding=padding))


def zip_pngs(images: torch.Tensor, names: Sequence[str]) -> bytes:
    """A ZIP of one PNG per image, named by `names` (e.g. 'seed_0042.png')."""
    if len(names) != images.shape[0]:
        raise ValueError("one name per image is needed")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, image in zip(names, images):
            zf.writestr(name, png_bytes(image))
    return buf.getvalue()


def gif_bytes(frames: Sequence[torch.Tensor] | torch.Tensor, *, duration_ms: int = 100, loop: int = 0,
              scale: int = 1) -> bytes:
    """Animated GIF from uint8 frames (C, H, W); `scale` enlarges small images with nearest-neighbour."""
    pils = []
    for f in frames:
        im = to_pil(f)
        if scale > 1:
            im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
        pils.append(im.convert("RGB") if im.mode != "L" else im)
    if not pils:
        raise ValueError("a GIF needs at least one frame")
    buf = io.BytesIO()
    pils[0].save(buf, format="GIF", save_all=True, append_images=pils[1:], duration=duration_ms, loop=loop,
                 optimize=False, disposal=2)
    return buf.getvalue()


def gif_scale(image_size: int) -> int:
    """How much a GIF enlarges its frames: to about 128 px on the long side, never shrinking (CLI and Explore)."""
    return max(1, 128 // image_size)


def decode_png(data: bytes) -> torch.Tensor:
    """PNG bytes (ours: 'L' or 'RGB') -> uint8 (C, H, W), the layout every function here takes."""
    return decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED)


def npy_bytes(array: torch.Tensor | np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array.detach().cpu() if isinstance(array, torch.Tensor) else array),
            allow_pickle=False)
    return buf.getvalue()
