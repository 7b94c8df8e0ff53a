"""Background training: `TrainingJob` drives a Run in a thread (the queue is gan_core/training/job_manager.py).

The worker thread never touches any UI. Controls are `threading.Event`s (pause, step once, stop); everything a
UI shows comes from `snapshot()`, a copy taken under a lock. A job's id is an unguessable token: whoever holds
it (one browser session) can see and control the job; the manager never lists other owners' jobs.
"""
from __future__ import annotations

import gc
import logging
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any, Callable

import torch

from gan_core.checkpoints.store import CheckpointError
from gan_core.config import ModelConfig, TrainConfig
from gan_core.data.datasets import ImageSet, load_images
from gan_core.errors import UserError
from gan_core.training.job_status import FAILED, FINISHED, JobSnapshot, LOADING, PAUSED, QUEUED, RUNNING, STOPPED
from gan_core.training.run import Run
from gan_core.training.trainer import Trainer, TrainingDiverged
from gan_core.training.devices import describe_device, resolve_device

log = logging.getLogger(__name__)


class TrainingJob:
    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, *, owner: str = "",
                 images: ImageSet | None = None, resume_from: str | None = None,
                 autosave_dir: str | Path | None = None, command: str | None = None,
                 budget_steps: int | None = None, budget_s: float | None = None) -> None:
        self.model_cfg, self.train_cfg = model_cfg.validate(), train_cfg.validate()
        self.id = uuid.uuid4().hex
        self.owner = owner
        self.device = resolve_device(train_cfg.device)
        self.images, self.resume_from = images, resume_from
        self.autosave_dir = Path(autosave_dir) if autosave_dir else None
        self.command = command
        # A budget (public mode): the run stops at this many steps or seconds of training, keeping its checkpoint.
        self.budget_steps, self.budget_s = budget_steps, budget_s
        self.note: str | None = None
        self.status = QUEUED
        self.error: str | None = None
        self.diverged = False
        self.saved_to: str | None = None
        self.run: Run | None = None
        self.queue_position = 0
        self._lock = threading.Lock()        # guards published fields
        self._model_lock = threading.Lock()  # held while stepping or saving
        self._pause, self._stop, self._step_once = threading.Event(), threading.Event(), threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._elapsed = 0.0
        self._rate = 0.0
        self._step_s = 0.0
        self._on_done: Callable[["TrainingJob"], None] | None = None

    # ---- controls (any thread) ----
    def start(self, on_done: Callable[["TrainingJob"], None] | None = None) -> None:
        self._on_done = on_done
        with self._lock:
            self.status, self.queue_position = LOADING, 0
        thread = threading.Thread(target=self._work, name=f"train-{self.id[:8]}", daemon=True)
        thread.start()
        self._thread = thread    # published once started: join() from another thread never sees an unstarted one

    def pause(self) -> None:
        self._pause.set()
        with self._lock:
            if self.status == RUNNING:
                self.status = PAUSED

    def resume(self) -> None:
        self._pause.clear()
        with self._lock:
            if self.status == PAUSED:
                self.status = RUNNING
        self._wake.set()

    def step_once(self) -> None:
        """While paused: run exactly one more step, then stay paused."""
        self._pause.set()
        self._step_once.set()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            if self.status == QUEUED:
                self.status = STOPPED

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- reading (any thread) ----
    def snapshot(self, since: int = 0) -> JobSnapshot:
        with self._lock:
            run = self.run
            t = run.trainer if run else None
            history = run.history[since:] if run else []
            step = t.step_count if t else 0
            total = t.total_steps if t else 0
            remaining = max(total - step, 0)
            eta = remaining * (t.batch_size / self._rate) if t and self._rate > 0 else None
            data = {}
            if t is not None and self.images is not None:
                data = {"name": self.images.name, "count": int(self.images.images.shape[0]),
                        "skipped": dict(self.images.skipped)}
            return JobSnapshot(
                id=self.id, status=self.status, step=step, total_steps=total, epoch=t.epoch if t else 0,
                epochs=self.train_cfg.epochs, steps_per_epoch=t.steps_per_epoch if t else 0,
                history=[dict(r) for r in history], history_len=len(run.history) if run else 0,
                grid_steps=[g.step for g in run.grids] if run else [],
                latest_grid=run.grids[-1].png if run and run.grids else None, error=self.error,
                images_per_s=self._rate, elapsed_s=self._elapsed, eta_s=eta, queue_position=self.queue_position,
                device=describe_device(self.device), data=data, saved_to=self.saved_to,
                diverged=self.diverged, note=self.note)

    def summary(self) -> JobSnapshot:
        """A snapshot without history rows: status, counters, latest grid, error (for a caption or a button)."""
        return self.snapshot(since=sys.maxsize)     # a slice past the end: no rows copied

    def label(self) -> str:
        """One line naming the run for a picker: 'run 1a2b3c · dcgan on digits · step 40/500 · running'."""
        snap = self.summary()
        data = snap.data.get("name") or self.train_cfg.dataset
        return (f"run {self.id[:6]} · {self.model_cfg.preset} on {data} · step {snap.step}/{snap.total_steps}"
                f" · {snap.status}")

    def history(self) -> list[dict]:
        """Copies of every history row so far (for a chart, a CSV, a comparison)."""
        return self.snapshot(since=0).history

    def grid_png(self, index: int) -> tuple[int, bytes] | None:
        with self._lock:
            if not self.run or not self.run.grids:
                return None
            g = self.run.grids[max(min(index, len(self.run.grids) - 1), 0)]
            return g.step, g.png

    def grid_pngs(self) -> list[bytes]:
        with self._lock:
            return [g.png for g in self.run.grids] if self.run else []

    def save(self, out: str | Path, *, with_training_state: bool = True, remember: bool = True) -> Path:
        """Save a checkpoint now (waits for the step in flight). Safe while training runs.

        `remember=False` (a temporary copy, e.g. for a zip download) leaves `saved_to` unchanged."""
        if self.run is None:
            raise CheckpointError("nothing to save yet: the run has not made its first step")
        with self._model_lock:
            path = self._save_locked(out, with_training_state)
        if remember:
            with self._lock:
                self.saved_to = str(path)
        return path

    def _save_locked(self, out: str | Path, with_training_state: bool) -> Path:
        return self.run.save(out, with_training_state=with_training_state)

    # ---- the worker ----
    def _set(self, **kw: Any) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, v)

    def _build(self) -> None:
        if self.images is None:
            self.images = load_images(self.train_cfg.dataset, image_size=self.model_cfg.image_size,
                                      channels=self.model_cfg.channels)
        trainer = Trainer(self.model_cfg, self.train_cfg, images=self.images.images, device=self.device)
        run = Run(trainer, dataset=self.images.name, command=self.command)
        if self.resume_from:
            run.resume(self.resume_from)
        with self._lock:
            self.run = run

    def _work(self) -> None:
        oom = False
        try:
            self._build()
            self._set(status=PAUSED if self._pause.is_set() else RUNNING)
            budget = self._loop()
            self._set(status=STOPPED if (self._stop.is_set() or budget) and not self.run.done else FINISHED)
            if self.autosave_dir is not None:
                self.save(self.autosave_dir)
            if budget:
                kept = f"; its checkpoint is kept ({self.saved_to})" if self.saved_to else ""
                self._set(note=f"Stopped at the public budget of {budget}{kept}.")
        except TrainingDiverged as exc:
            self._set(diverged=True)
            self._fail(str(exc), keep=True)
        except torch.cuda.OutOfMemoryError:
            oom = True
            self._set(run=None)   # drop models, optimisers and batches; freed below, once the traceback is gone
            self._fail("the GPU ran out of memory: lower the batch size, the widths or the image size")
        except UserError as exc:
            self._fail(str(exc))
        except Exception as exc:  # unexpected: short message to the UI, details to the server log
            log.error("training job %s failed:\n%s", self.id, traceback.format_exc())
            self._fail(f"training stopped by an internal error ({type(exc).__name__}: {exc}); "
                       "details are in the server log")
        finally:
            if oom and torch.cuda.is_available():  # outside the except block: its frames no longer pin tensors
                gc.collect()
                torch.cuda.empty_cache()
            if self._on_done:
                self._on_done(self)

    def _fail(self, message: str, *, keep: bool = False) -> None:
        saved = None
        if keep and self.autosave_dir is not None and self.run is not None:
            try:  # the run restored its last good weights before raising
                saved = str(self._save_locked(self.autosave_dir, True))
            except Exception:
                log.error("could not save the last good checkpoint:\n%s", traceback.format_exc())
        if saved:
            message = f"{message.rstrip('.')}. Saved to {saved}."
        self._set(status=FAILED, error=message, saved_to=saved)

    def _over_budget(self) -> str | None:
        """The budget this run has used up ('3,000 steps', '15 min of training'), or None."""
        if self.budget_steps is not None and self.run.trainer.step_count >= self.budget_steps:
            return f"{self.budget_steps:,} steps"
        if self.budget_s is not None and self._elapsed >= self.budget_s:
            return f"{self.budget_s / 60:g} min of training"
        return None

    def _loop(self) -> str | None:
        """Train until done, stopped, or over budget; returns the budget that ended it, if one did."""
        run = self.run
        budget = None
        while not run.done and not self._stop.is_set() and not (budget := self._over_budget()):
            if self._pause.is_set() and not self._step_once.is_set():
                self._set(status=PAUSED)
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            stepping_once = self._step_once.is_set()
            self._step_once.clear()
            if not stepping_once:
                self._set(status=RUNNING)
            t0 = time.perf_counter()
            with self._model_lock:  # Run appends whole rows/grids (atomic list ops): snapshot() can read
                m = run.advance()
            dt = time.perf_counter() - t0
            with self._lock:
                self._elapsed += dt
                # An average of seconds per step, not of per-step rates: the mean of rates overweights the fast
                # steps and showed twice the real speed when some steps waited for a core.
                self._step_s = dt if self._step_s == 0 else 0.9 * self._step_s + 0.1 * dt
                self._rate = m.batch_size / max(self._step_s, 1e-9)
        if not self._stop.is_set():
            with self._model_lock:
                run.flush()
        return budget
