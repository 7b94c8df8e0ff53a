"""Explore's images and download payloads, cached with `st.cache_data` by (checkpoint key, seeds, settings).

The generator itself is passed as `_loaded` (not hashed: the leading underscore) next to its `key` from
`explore_sources.source_key`, so a cached result is reused only for the same weights. All maths goes through
gan_core (z_from_seeds, keyframe_path, images_from_z, export), exactly like the CLI, so the page, the CLI and
the Python API give the same pixels for the same checkpoint and seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import streamlit as st
import torch

from gan_core.checkpoints.store import LoadedGenerator
from gan_core.export import gif_bytes, grid_png, npy_bytes, png_bytes, zip_pngs
from gan_core.latent import keyframe_path, z_from_seed, z_from_seeds
from gan_core.sampling import images_from_z

DISPLAY_PX = 96   # small generators (16-32 px) are enlarged with nearest-neighbour so pixels stay crisp


def display_scale(image_size: int, target: int = DISPLAY_PX) -> int:
    return max(1, target // image_size)


def enlarge(images: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> (N, C, H*scale, W*scale), nearest-neighbour (no blur)."""
    return images.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3) if scale > 1 else images


@dataclass(frozen=True)
class Frames:
    """images: uint8 (N, C, H, W) numpy; z: float32 (N, z_dim) numpy (the vectors actually fed to G)."""
    images: np.ndarray
    z: np.ndarray


@st.cache_data(show_spinner=False, max_entries=64)
def seed_frames(key: str, _loaded: LoadedGenerator, seeds: tuple[int, ...], psi: float) -> Frames:
    z = z_from_seeds(list(seeds), _loaded.config.z_dim) * psi          # (N, z_dim): truncation scales z
    return Frames(images_from_z(_loaded.generator, z).numpy(), z.numpy())


@st.cache_data(show_spinner=False, max_entries=64)
def path_frames(key: str, _loaded: LoadedGenerator, seeds: tuple[int, ...], steps: int, mode: str,
                pingpong: bool, psi: float) -> Frames:
    """Frames along keyframes seeds[0] -> seeds[1] -> ...; frame k*(steps-1) is exactly keyframe k's image."""
    keys = z_from_seeds(list(seeds), _loaded.config.z_dim) * psi       # (K, z_dim)
    z = keyframe_path(keys, steps, mode=mode, pingpong=pingpong)        # ((K-1)(steps-1)+1 [+ back], z_dim)
    return Frames(images_from_z(_loaded.generator, z).numpy(), z.numpy())


@st.cache_data(show_spinner=False, max_entries=128)
def nudged_frame(key: str, _loaded: LoadedGenerator, seed: int, offsets: tuple[tuple[int, float], ...],
                 psi: float) -> Frames:
    """z(seed) with z[d] += delta for each (d, delta), then scaled by psi: one image."""
    z = z_from_seed(seed, _loaded.config.z_dim).clone()
    for d, delta in offsets:
        z[d] += delta
    z = (z * psi).unsqueeze(0)                                          # (1, z_dim)
    return Frames(images_from_z(_loaded.generator, z).numpy(), z.numpy())


# ---- display bytes (cached on the arrays' contents) ----
@st.cache_data(show_spinner=False, max_entries=256)
def display_pngs(images: np.ndarray, scale: int) -> list[bytes]:
    """One enlarged PNG per image, for st.image lists with captions."""
    return [png_bytes(im) for im in enlarge(torch.from_numpy(images), scale)]


@st.cache_data(show_spinner=False, max_entries=128)
def strip_png(images: np.ndarray, *, nrow: int, scale: int = 1) -> bytes:
    """Images as one PNG grid/strip (nrow per row), optionally enlarged."""
    return grid_png(enlarge(torch.from_numpy(images), scale), nrow=nrow)


@st.cache_data(show_spinner=False, max_entries=64)
def gif(images: np.ndarray, *, duration_ms: int, scale: int) -> bytes:
    return gif_bytes(torch.from_numpy(images), duration_ms=duration_ms, scale=scale)


# ---- download payloads: zero-argument builders, run only when the button is clicked (deferred downloads) ----
def _grid_png(images: np.ndarray, nrow: int) -> bytes:
    return grid_png(torch.from_numpy(images), nrow=nrow)


def _zip(images: np.ndarray, names: tuple[str, ...]) -> bytes:
    return zip_pngs(torch.from_numpy(images), list(names))


def _gif(images: np.ndarray, duration_ms: int, scale: int) -> bytes:
    return gif_bytes(torch.from_numpy(images), duration_ms=duration_ms, scale=scale)


def png_file(images: np.ndarray, *, nrow: int) -> Callable[[], bytes]:
    return partial(_grid_png, images, nrow)


def zip_file(images: np.ndarray, names: tuple[str, ...]) -> Callable[[], bytes]:
    return partial(_zip, images, names)


def gif_file(images: np.ndarray, *, duration_ms: int, scale: int) -> Callable[[], bytes]:
    return partial(_gif, images, duration_ms, scale)


def npy_file(z: np.ndarray) -> Callable[[], bytes]:
    return partial(npy_bytes, z)


def seed_names(seeds: tuple[int, ...]) -> tuple[str, ...]:
    """File names in ZIPs: the same as `python -m gan_core sample --out x.zip`."""
    return tuple(f"seed_{s:06d}.png" for s in seeds)


def path_names(mode: str, seeds: tuple[int, ...], n: int) -> tuple[str, ...]:
    """The same as `python -m gan_core interpolate --out x.zip`: mode, keyframe seeds, step number."""
    tag = "-".join(map(str, seeds))
    return tuple(f"{mode}_{tag}_step_{k:03d}.png" for k in range(n))

