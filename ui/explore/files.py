"""Explore's files: uploads (config.json + model.safetensors), imported pytorch/examples .pth files and snapshots
of this session's training runs, each written as a Hub-layout checkpoint folder under the app's data dir
(`<data_home>/explore/{uploads,imports,runs}/`), so every source loads, samples and publishes the same way.
No streamlit here: the functions are tested directly.
"""
from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

from gan_core.checkpoints.store import CheckpointError, load_generator, read_config
from gan_core.data.datasets import data_home

MAX_UPLOAD_BYTES = 256 << 20


def explore_dir() -> Path:
    path = data_home() / "explore"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def save_uploaded_checkpoint(config_bytes: bytes, weights_bytes: bytes) -> Path:
    """config.json + model.safetensors bytes -> a checked checkpoint folder (same bytes -> same folder)."""
    if len(config_bytes) > 1 << 20 or len(weights_bytes) > MAX_UPLOAD_BYTES:
        raise CheckpointError("the uploaded files are too large for a DCGAN checkpoint")
    out = explore_dir() / "uploads" / _digest(config_bytes, weights_bytes)
    if (out / "model.safetensors").is_file():
        return out
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        (tmp / "config.json").write_bytes(config_bytes)
        (tmp / "model.safetensors").write_bytes(weights_bytes)
        cfg, info = read_config(tmp)                  # bounds every value before allocating
        load_generator(tmp)                           # strict: every tensor present, shapes match
        if not (tmp / "README.md").exists():
            from gan_core.checkpoints.modelcard import model_card
            (tmp / "README.md").write_text(model_card({**cfg.to_dict(), **info}, has_samples=False))
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def import_pth_upload(data: bytes, name: str, *, nz: int, ngf: int, channels: int) -> Path:
    """A pytorch/examples netG .pth -> a checkpoint folder (dcgan preset, 64x64)."""
    from gan_core.checkpoints.pth_import import import_pth

    out = explore_dir() / "imports" / _digest(data, f"{nz},{ngf},{channels}".encode())
    if (out / "model.safetensors").is_file():
        return out
    return import_pth(data, out, nz=nz, ngf=ngf, channels=channels, name=Path(name).name)


def snapshot_job(job) -> Path:
    """Copy a session run's current generator into a checkpoint folder (under the job's model lock)."""
    step = job.summary().step
    out = explore_dir() / "runs" / f"{job.id[:12]}-step{step:07d}"
    if (out / "model.safetensors").is_file():
        return out
    return job.save(out, with_training_state=False, remember=False)
