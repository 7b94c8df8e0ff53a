"""Warm the heavy imports and first computations in a background thread, once per server process.

A fresh server imports torch, torchvision, plotly and the engine on the first page that needs them (seconds on
a small CPU), so the first visitor's click on Train used to wait for all of it. `start()` (called by app.py on
its first run, i.e. as soon as anyone opens the app) imports them in a daemon thread while that visitor reads
Home, then decodes the default Train data (digits at 28 px) and times the step-time model the Train page's
estimate uses: both are `st.cache_resource` values, so the page later finds them ready (or waits on the same
computation instead of repeating it). Nothing here draws anything; a failure only logs.
"""
from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

TRAIN_MODULES = ("torch", "gan_core.training.jobs", "gan_core.training.job_manager", "ui.train.data",
                 "ui.train.controls", "ui.train.live")
OTHER_MODULES = ("gan_core.checkpoints.store", "ui.explore.sources", "ui.explore.sections", "ui.evaluate.run",
                 "ui.evaluate.compare")


_started = False
_lock = threading.Lock()


def _warm() -> None:
    """Train's imports and default data first (the page most visitors open first), then Explore's and Evaluate's
    imports, then the step-time model (a second of real training steps, so it goes last)."""
    try:
        for name in TRAIN_MODULES:
            importlib.import_module(name)
        from gan_core.config import ModelConfig
        from gan_core.training.devices import resolve_device
        from ui.train.data import _named, step_time_model

        model = ModelConfig()
        _named("digits", model.image_size, model.channels)   # the Train page's default data, decoded once
        for name in OTHER_MODULES:
            importlib.import_module(name)
        step_time_model(resolve_device("auto").type)         # the device the default settings train on
    except Exception:  # warming is an optimisation: the pages do the same work themselves if it failed
        log.exception("background warm-up failed")


def start() -> None:
    """Start the warm-up thread once per process (later calls return at once)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_warm, name="warm-up", daemon=True).start()
