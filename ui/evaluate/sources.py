"""What the Evaluate page can score or compare: bundled checkpoints, this session's runs, typed folders/Hub ids.

A source key is a bundled name, a folder path, a Hub repo id[@revision], or "job:<id>" for a run of this browser
session. `load_for_eval` turns a key into a generator (a running job is copied through a temporary checkpoint, so
training goes on untouched); `run_info` gathers what Compare shows: history, latest grid, settings, scores.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from gan_core.config import MODEL_KEYS, TRAIN_KEYS
from gan_core.checkpoints.store import (LoadedGenerator, bundled_checkpoints, load_generator, read_config_json,
                                       resolve_source)
from gan_core.training.jobs import TrainingJob
from ui.evaluate import state as evaluate_state
from ui.state import job_manager, owner_id, session_jobs

JOB = "job:"


@dataclass
class RunInfo:
    key: str
    label: str
    history: list[dict] = field(default_factory=list)
    grid_png: bytes | None = None
    settings: dict = field(default_factory=dict)     # model + training hyperparameters, flat
    scores: dict = field(default_factory=dict)       # recorded in config.json ("scores") or evaluated here
    note: str | None = None                          # why something is missing (e.g. no training history)


def label(key: str) -> str:
    if key.startswith(JOB):
        job = _job(key)
        return f"this session's {job.label()}" if job else f"run {key[len(JOB):][:6]} (gone)"
    return key


def candidates() -> dict[str, str]:
    """key -> label, in order: this session's runs (newest first), bundled checkpoints, typed sources."""
    out = {f"{JOB}{j.id}": f"this session's {j.label()}" for j in reversed(session_jobs()) if j.has_weights}
    out.update({name: f"bundled: {name}" for name in bundled_checkpoints()})
    out.update({s: s for s in evaluate_state.typed_sources() if s not in out})
    return out


def _job(key: str) -> TrainingJob | None:
    return job_manager().get(key[len(JOB):], owner=owner_id())


def load_for_eval(key: str) -> LoadedGenerator:
    """A generator for `key` on the CPU (raises CheckpointError with a readable message)."""
    if key.startswith(JOB):
        job = _job(key)
        if job is None or not job.has_weights:
            from gan_core.checkpoints.store import CheckpointError
            raise CheckpointError("that run is gone or has not made its first step yet")
        with tempfile.TemporaryDirectory(prefix="dcgan-eval-") as tmp:
            path = job.save(Path(tmp) / "ckpt", with_training_state=False, remember=False)
            loaded = load_generator(path)
        loaded.source = label(key)
        return loaded
    return load_generator(key)


@st.cache_data(show_spinner=False, max_entries=32)
def _folder_info(path: str, mtime: float) -> tuple[dict, list[dict], bytes | None]:
    folder = Path(path)
    info = read_config_json(folder)
    history: list[dict] = []
    state = folder / "training" / "state.json"
    if state.is_file():
        history = list(json.loads(state.read_text(encoding="utf-8")).get("history", []))
    samples = folder / "samples.png"
    return info, history, samples.read_bytes() if samples.is_file() else None


def _flat_settings(model: dict, train: dict | None) -> dict:
    """Every ModelConfig then TrainConfig field (None where a checkpoint lacks it), for the compare table."""
    return {**{k: model.get(k) for k in MODEL_KEYS}, **{k: (train or {}).get(k) for k in TRAIN_KEYS}}


def run_info(key: str) -> RunInfo:
    """History, latest grid, settings and scores of a source (raises CheckpointError if it cannot be found)."""
    evaluated = evaluate_state.scores_for(key)
    if key.startswith(JOB):
        job = _job(key)
        if job is None:
            return RunInfo(key, label(key), note="this run is no longer kept")
        grid = job.grid_png(-1)
        return RunInfo(key, label(key), history=job.history(), grid_png=grid[1] if grid else None,
                       settings=_flat_settings(job.model_cfg.to_dict(), job.train_cfg.to_dict()), scores=evaluated)
    folder = resolve_source(key)
    cfg = folder / "config.json"
    info, history, png = _folder_info(str(folder), cfg.stat().st_mtime) if cfg.is_file() else ({}, [], None)
    if "z_dim" not in info:      # a HugGAN / pytorch/examples repo: the sizes come from its weights
        info = load_generator(key).info
    settings = _flat_settings(info, info.get("train"))
    settings["steps"] = info.get("steps")
    note = None if history else "no training history in this checkpoint (training/state.json)"
    return RunInfo(key, label(key), history=history, grid_png=png, settings=settings,
                   scores={**(info.get("scores") or {}), **evaluated}, note=note)
