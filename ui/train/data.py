"""Training data for the Train page: decode the chosen source once (cached), preview it, estimate epoch time.

Uploaded files stay in memory as bytes and are decoded with `gan_core.data.decoding` (zips are never extracted);
nothing is written outside the app's data dir. Decoded `ImageSet`s are cached with `st.cache_resource` and
treated as read-only (training draws batches by index, never writes into them).
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import streamlit as st
import torch

from gan_core.config import ModelConfig, TrainConfig, with_preset
from gan_core.data.datasets import DataError, ImageSet, load_images
from gan_core.export import grid_png
from gan_core.errors import UserError
from gan_core.data.decoding import ImageLimits, decode_image, decode_zip
from ui import public, state



@st.cache_resource(max_entries=4, show_spinner=False)
def _named(source: str, image_size: int, channels: int) -> ImageSet:
    return load_images(source, image_size=image_size, channels=channels)


@st.cache_resource(max_entries=2, show_spinner=False)
def _folder(path: str, mtime: float, image_size: int, channels: int) -> ImageSet:
    return load_images(path, image_size=image_size, channels=channels)


@st.cache_resource(max_entries=2, show_spinner=False)
def _uploads(file_ids: tuple[str, ...], image_size: int, channels: int, public_mode: bool, _files: list) -> ImageSet:
    """Decode uploaded files (bytes in memory): zips member by member, single images directly."""
    limits = public.limits().upload_limits() if public_mode else ImageLimits()
    arrays: list[torch.Tensor] = []
    skipped: Counter[str] = Counter()
    for f in _files:
        data = f.getvalue()
        if f.name.lower().endswith(".zip"):
            images, why = decode_zip(data, image_size=image_size, channels=channels, limits=limits)
            arrays.append(images)
            skipped.update(why)
            continue
        try:
            arrays.append(torch.tensor(decode_image(data, image_size=image_size, channels=channels,
                                                    limits=limits))[None])
        except ValueError as exc:
            skipped[str(exc)] += 1
    images = torch.cat(arrays) if arrays else torch.empty(0, channels, image_size, image_size, dtype=torch.uint8)
    if images.shape[0] == 0:
        detail = ", ".join(f"{n} {why}" for why, n in skipped.items()) or "no files"
        raise DataError(f"no usable images in the upload ({detail}); PNG or JPEG files are needed")
    name = Path(_files[0].name).stem if len(_files) == 1 else f"upload-{len(_files)}-files"
    return ImageSet(images.contiguous(), name=name, skipped=dict(skipped))


def load(kind: str, detail: object, model: ModelConfig) -> tuple[ImageSet | None, str | None]:
    """(images, dataset label for TrainConfig) or (None, None) after showing why (error or a load button)."""
    size, ch = model.image_size, model.channels
    try:
        if kind == "digits":
            return _named("digits", size, ch), "digits"
        if kind in ("mnist", "fashion-mnist", "cifar10"):
            if not state.source_loaded(kind):
                st.info(f"{kind} is downloaded once into the app's data folder (needs a network connection).")
                if st.button(f"Download / load {kind}", key=f"load_{kind}"):
                    state.mark_source_loaded(kind)
                    st.rerun()
                return None, None
            with st.spinner(f"Loading {kind} (downloading it the first time)…"):
                return _named(kind, size, ch), kind
        if kind == "upload":
            if not detail:
                st.info("Upload a .zip of images or several image files to preview them here.")
                return None, None
            refused = public.upload_error(list(detail))
            if refused:
                st.error(f"Upload refused: {refused}.")
                return None, None
            ids = tuple(f.file_id for f in detail)
            with st.spinner(f"Decoding {len(detail)} uploaded file(s)…"):
                images = _uploads(ids, size, ch, public.limits() is not None, list(detail))
            return images, f"upload:{images.name}"
        if kind == "folder":
            if public.refuse_server_source(kind):   # public mode: even a crafted widget state opens no path
                return None, None
            if not detail:
                st.info("Type the path of a folder (searched recursively) or a .zip of images.")
                return None, None
            path = Path(str(detail)).expanduser()
            if not path.exists():
                st.error(f"{path} does not exist on the machine running the app.")
                return None, None
            with st.spinner(f"Decoding images in {path}…"):
                return _folder(str(path), path.stat().st_mtime, size, ch), str(path)
    except (UserError, ValueError, OSError) as exc:   # unusable data or archive, unreadable files
        st.error(f"Could not load the images: {exc}")
        return None, None
    st.error(f"unknown data source {kind!r}")
    return None, None


@st.cache_data(max_entries=8, show_spinner=False)
def _preview_png(_images: ImageSet, key: tuple) -> bytes:
    return grid_png(_images.images[:64])


def preview(images: ImageSet) -> None:
    """A grid of the first 64 real images, their count, and what was skipped and why."""
    key = (images.name, tuple(images.images.shape), int(images.images[:64].sum()))
    st.image(_preview_png(images, key), caption=f"{images.name}: first 64 of {len(images.images):,} images "
             f"({images.images.shape[-1]} px, {images.images.shape[1]} channel(s))", width=300)
    st.caption(f"{len(images.images):,} images ready" + ("." if images.skipped_total else "; none skipped."))
    if images.skipped_total:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(images.skipped.items(), key=lambda x: -x[1]))
        st.warning(f"Skipped {images.skipped_total} file(s): {why}.")


REFERENCE = with_preset("dcgan", train=dict(device="cpu"))  # the default run: dcgan, 28 px, widths 32, batch 64


def _flops(run) -> int:
    """FLOPs torch counts (convs, matmuls, forward and backward) while `run()` executes."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


@st.cache_data(max_entries=64, show_spinner=False)
def pass_flops(model: ModelConfig) -> dict[str, float]:
    """FLOPs per image of the passes a training step is made of, counted by FlopCounterMode on real
    forward + backward passes of a batch of 2 (BatchNorm needs more than one sample):
    g_fwd (G makes a fake batch for D's step), d_fwd_bwd (D on a batch, weight gradients only),
    g_fwd_bwd and d_fwd_bwd_input (G's step: D's backward also reaches its input, then G's backward).
    On the meta device: the same ops, shapes and autograd graph with no data, so the same count in ~0.1 s
    instead of 1-5 s of real arithmetic on a shared CPU."""
    from gan_core.models import Discriminator, Generator

    n = 2
    with torch.device("meta"):
        g, d = Generator(model).train(), Discriminator(model).train()
        z = torch.randn(n, model.z_dim)
        x = torch.randn(n, model.channels, model.image_size, model.image_size)
    with torch.no_grad():
        g_fwd = _flops(lambda: g(z))
    d_fwd_bwd = _flops(lambda: d(x).sum().backward())
    d_fwd_bwd_input = _flops(lambda: d(x.clone().requires_grad_()).sum().backward())
    g_and_d = _flops(lambda: d(g(z)).sum().backward())        # G's step: through D into G
    return {"g_fwd": g_fwd / n, "d_fwd_bwd": d_fwd_bwd / n, "d_fwd_bwd_input": d_fwd_bwd_input / n,
            "g_fwd_bwd": (g_and_d - d_fwd_bwd_input) / n}


def step_flops(model: ModelConfig, train: TrainConfig) -> float:
    """FLOPs per image and step: each D step = G forward (no grad) + D forward/backward on a real and on a
    fake batch; each G step = G and D forward/backward on a fake batch, D's gradient flowing into G."""
    f = pass_flops(model)
    return (train.d_steps * (f["g_fwd"] + 2 * f["d_fwd_bwd"])
            + train.g_steps * (f["g_fwd_bwd"] + f["d_fwd_bwd_input"]))


def _seconds_per_step(model: ModelConfig, train: TrainConfig) -> float:
    """Real training steps timed in a process like the ones that train (gan_core/training/step_timing.py says why);
    in this process if that cannot start."""
    from gan_core.training.step_timing import call_in_training_process, seconds_per_step

    try:
        return call_in_training_process(seconds_per_step, model, train)
    except (OSError, RuntimeError):
        return seconds_per_step(model, train)


@st.cache_resource(show_spinner=False)
def step_time_model(device: str) -> tuple[float, float]:
    """(overhead s/step, s per FLOP) fitted to two measured runs on this machine: the default model (widths 32)
    and a narrow one (widths 8), both 28 px, batch 64 — about a second on a CPU, once per process."""
    model, train = REFERENCE
    train = dataclasses.replace(train, device=device)
    narrow = dataclasses.replace(model, g_width=8, d_width=8)
    (t_wide, f_wide), (t_narrow, f_narrow) = [
        (_seconds_per_step(m, train), step_flops(m, train) * train.batch_size) for m in (model, narrow)]
    per_flop = (t_wide - t_narrow) / (f_wide - f_narrow)
    if per_flop <= 0:  # a noisy machine: fall back to a pure compute model
        return 0.0, t_wide / f_wide
    return max(t_wide - per_flop * f_wide, 0.0), per_flop


def images_per_s(model: ModelConfig, train: TrainConfig) -> float:
    """A simple throughput model: seconds per step = overhead + FLOPs x seconds per FLOP (measured here)."""
    from gan_core.training.devices import resolve_device

    overhead, per_flop = step_time_model(resolve_device(train.device).type)
    return train.batch_size / (overhead + per_flop * step_flops(model, train) * train.batch_size)


def estimate(model: ModelConfig, train: TrainConfig, n_images: int) -> str:
    """A sentence with the expected time per epoch and for the whole run."""
    try:
        rate = images_per_s(model, train)
    except Exception:  # estimating must never break the page; training will report its own errors
        return ""
    batch = min(train.batch_size, n_images)
    steps = max(n_images // batch, 1)
    total = steps * train.epochs if not train.max_steps else min(train.max_steps, steps * train.epochs)
    per_epoch = steps * batch / rate
    return (f"Expected: about **{_fmt(per_epoch)} per epoch** ({steps} steps of {batch} images at "
            f"~{rate:,.0f} images/s, from two quick timings on this machine scaled by the model's compute); "
            f"the whole run ≈ {_fmt(total * batch / rate)}.")


def _fmt(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

