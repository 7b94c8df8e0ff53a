"""Warm the heavy imports and first computations once per server process: at server start, or in the background.

A fresh server imports torch, torchvision, plotly and the engine on the first page that needs them (seconds on
a small CPU), so the first visitor's click on Train used to wait for all of it. `warm_at_start()` (app.py's
server start-up hook) does the whole warm-up before the server answers: every page's modules, the Train page's
default data (digits at 28 px) and the step-time model its estimate uses (both `st.cache_resource` values, so
the pages find them ready), and it starts the forkserver the training processes come from
(gan_core/training/worker.py). Where that hook did not run, `start()` (app.py's first page run) does the same in a
daemon thread while the first visitor reads Home; a page that needs a value meanwhile waits on the same
computation instead of repeating it. `train_ready()` tells the Train page, without waiting, whether it can use
the engine at once or should draw its Start button first (ui/train/start.py). Nothing here draws anything; a
failure only logs.
"""
from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

TRAIN_MODULES = ("torch", "gan_core.training.jobs", "gan_core.training.job_manager", "ui.train.data",
                 "ui.train.controls", "ui.train.live")
OTHER_MODULES = ("gan_core.checkpoints.store", "ui.home", "ui.sidebar", "ui.explore.sources", "ui.explore.sections",
                 "ui.evaluate.run", "ui.evaluate.compare")


_started = False
_lock = threading.Lock()
_train_ready = threading.Event()   # set once TRAIN_MODULES are imported (fully) in this process


def train_ready() -> bool:
    """Whether torch and the Train page's engine modules are fully imported in this process (never waits; a module
    being imported by another thread is already in sys.modules, so sys.modules cannot tell)."""
    return _train_ready.is_set()


def import_train() -> None:
    """Import TRAIN_MODULES (waiting for another thread's import of them in progress), then mark them ready."""
    for name in TRAIN_MODULES:
        importlib.import_module(name)
    _train_ready.set()


def import_modules() -> None:
    """Train's modules first (the page most visitors open first), then Home's, Explore's and Evaluate's."""
    import_train()
    for name in OTHER_MODULES:
        importlib.import_module(name)


def default_data() -> None:
    """Decode the Train page's default data (digits at the default 28 px) into its cache."""
    from gan_core.config import ModelConfig
    from ui.train.data import _named

    model = ModelConfig()
    _named("digits", model.image_size, model.channels)


def warm_at_start() -> None:
    """The server's start-up (app.py's lifespan hook, in a worker thread): all of `_warm()` now, before the server
    answers anyone; app.py's later `start()` calls then find it done.

    Done while a visitor's browser was loading a page, this work (torch's import holds the GIL most of the time,
    the step-time model keeps the CPU busy) slowed the server's answers to that browser, its script files included,
    and, with the browser on the same machine, the browser itself, by seconds (BENCHMARKS.md, "First paint").
    Done before the server listens, it costs a later start instead, when nobody is waiting on a page."""
    global _started
    with _lock:
        _started = True
    _warm()


def _warm() -> None:
    """The pages' modules, the Train page's default data, then the step-time model (a second of real training
    steps on a quiet machine, so it goes last)."""
    try:
        import_modules()
        _start_training_processes()
        default_data()
        from gan_core.training.devices import resolve_device
        from ui.train.data import step_time_model

        step_time_model(resolve_device("auto").type)         # the device the default settings train on
    except Exception:  # warming is an optimisation: the pages do the same work themselves if it failed
        log.exception("warm-up failed")


def _start_training_processes() -> None:
    """Start the forkserver that training processes fork from (gan_core/training/worker.py), with torch and the
    engine imported there once, so pressing Start does not wait for a fresh interpreter to import them."""
    from gan_core.training import worker
    from ui import TRAINING_ENV

    worker.prestart(env=TRAINING_ENV)


def start() -> None:
    """Start the warm-up thread once per process (later calls return at once)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_warm, name="warm-up", daemon=True).start()
