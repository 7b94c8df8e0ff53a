"""Background training: `TrainingJob`, the run as the server sees it (the queue is gan_core/training/job_manager.py).

The run itself trains in a child process (gan_core/training/worker.py), so the page reruns never take the GIL from
it. The job stays here, in the server: a reload or `?job=` finds it by id, the manager queues it, and pages read it.
A daemon "supervisor" thread per job starts the child, mirrors what the child sends (history rows, grids,
counters, status) into this object under its lock, so `snapshot()` stays a cheap copy, and reports the child's
end, or its death (killed, crashed: the job FAILS with one line, the server goes on). Controls are messages to
the child; a save is a request the child answers between two steps (after the run has ended, a copy of the final
checkpoint the child left). A job's id is an unguessable token: whoever holds it (one browser session) can see
and control the job; the manager never lists other owners' jobs. The supervisor's half is gan_core/training/job_link.py.
"""
from __future__ import annotations

import logging
import shutil
import sys
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable

import torch

from gan_core.checkpoints.atomic import copy_folder
from gan_core.checkpoints.store import CheckpointError
from gan_core.config import ModelConfig, TrainConfig
from gan_core.data.datasets import ImageSet, data_home
from gan_core.training.job_link import ProcessLink
from gan_core.training.devices import describe_device, resolve_device
from gan_core.training.job_status import JobSnapshot, LOADING, PAUSED, QUEUED, RUNNING, STOPPED

log = logging.getLogger(__name__)
SAVE_TIMEOUT_S = 120.0   # a save waits for the step in flight, then writes a few MB: minutes means something is wrong


class TrainingJob(ProcessLink):
    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, *, owner: str = "",
                 images: ImageSet | None = None, resume_from: str | None = None,
                 autosave_dir: str | Path | None = None, command: str | None = None,
                 budget_steps: int | None = None, budget_s: float | None = None,
                 child_init: Callable[[], None] | None = None) -> None:
        """`child_init`: a module-level function the training process calls first (tests inject faults there)."""
        self.model_cfg, self.train_cfg = model_cfg.validate(), train_cfg.validate()
        self.id = uuid.uuid4().hex
        self.owner = owner
        self.device = resolve_device(train_cfg.device)
        self.images, self.resume_from = images, resume_from
        self.autosave_dir = Path(autosave_dir) if autosave_dir else None
        self.command = command
        # A budget (public mode): the run stops at this many steps or seconds of training, keeping its checkpoint.
        self.budget_steps, self.budget_s = budget_steps, budget_s
        self.child_init = child_init
        self.note: str | None = None
        self.status = QUEUED
        self.error: str | None = None
        self.diverged = False
        self.saved_to: str | None = None
        self.queue_position = 0
        self._lock = threading.Lock()   # guards the published fields below
        self._ctl = threading.Lock()    # guards the control flags and the pipe's sending end
        self._paused = self._step_once = self._stopped = False
        self._conn: Any = None
        self._proc: Any = None
        self._thread: threading.Thread | None = None
        self._history: list[dict] = []
        self._grids: list = []
        self._counters = {"step": 0, "epoch": 0, "elapsed": 0.0, "rate": 0.0}
        self._info: dict[str, Any] = {}          # from the child once the run is built: sizes, device, data
        self._live = False                       # the child holds a built run
        self._final: Path | None = None          # the checkpoint the child left when the run ended
        self._requests: dict[int, dict] = {}     # save request id -> {"event", and the answer}
        self._next_request = 0
        self._final_tmp = data_home() / "tmp" / f"job-{self.id}"   # final copy when there is no autosave folder
        weakref.finalize(self, shutil.rmtree, self._final_tmp, True)
        self._on_done: Callable[["TrainingJob"], None] | None = None

    # ---- controls (any thread) ----
    def start(self, on_done: Callable[["TrainingJob"], None] | None = None) -> None:
        self._on_done = on_done
        with self._lock:
            self.status, self.queue_position = LOADING, 0
        thread = threading.Thread(target=self._supervise, name=f"train-{self.id[:8]}", daemon=True)
        thread.start()
        self._thread = thread    # published once started: join() from another thread never sees an unstarted one

    def _send(self, *msg: Any) -> None:
        """Send a control message if the child is there (call under `_ctl`); a gone child is the supervisor's news."""
        if self._conn is not None:
            try:
                self._conn.send(msg)
            except (OSError, ValueError):
                pass

    def pause(self) -> None:
        with self._ctl:
            self._paused = True
            self._send("pause")
        with self._lock:
            if self.status == RUNNING:
                self.status = PAUSED

    def resume(self) -> None:
        with self._ctl:
            self._paused = self._step_once = False
            self._send("resume")
        with self._lock:
            if self.status == PAUSED:
                self.status = RUNNING

    def step_once(self) -> None:
        """While paused: run exactly one more step, then stay paused."""
        with self._ctl:
            self._paused = self._step_once = True
            self._send("step")

    def stop(self) -> None:
        with self._ctl:
            self._stopped = True
            self._send("stop")
        with self._lock:
            if self.status == QUEUED:
                self.status = STOPPED

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- reading (any thread) ----
    @property
    def has_weights(self) -> bool:
        """True once the run is built and as long as its weights can be saved (sampled, evaluated): from the
        training process while it lives, then from the final checkpoint it left."""
        with self._lock:
            return self._live or self._final is not None

    @property
    def pid(self) -> int | None:
        """The training process's id while it runs (None before and after)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.exitcode is None else None

    def snapshot(self, since: int = 0) -> JobSnapshot:
        with self._lock:
            c, info = self._counters, self._info
            total = info.get("total_steps", 0)
            rate = c["rate"]
            eta = max(total - c["step"], 0) * info["batch_size"] / rate if info and rate > 0 else None
            return JobSnapshot(
                id=self.id, status=self.status, step=c["step"], total_steps=total, epoch=c["epoch"],
                epochs=self.train_cfg.epochs, steps_per_epoch=info.get("steps_per_epoch", 0),
                history=[dict(r) for r in self._history[since:]], history_len=len(self._history),
                grid_steps=[g.step for g in self._grids], latest_grid=self._grids[-1].png if self._grids else None,
                error=self.error, images_per_s=rate, elapsed_s=c["elapsed"], eta_s=eta,
                queue_position=self.queue_position, device=info.get("device") or describe_device(self.device),
                data=dict(info.get("data", {})), saved_to=self.saved_to, diverged=self.diverged, note=self.note)

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
            if not self._grids:
                return None
            g = self._grids[max(min(index, len(self._grids) - 1), 0)]
            return g.step, g.png

    def grid_pngs(self) -> list[bytes]:
        with self._lock:
            return [g.png for g in self._grids]

    def save(self, out: str | Path, *, with_training_state: bool = True, remember: bool = True) -> Path:
        """Save a checkpoint now (the training process writes it between two steps). Safe while training runs.

        `remember=False` (a temporary copy, e.g. for a zip download) leaves `saved_to` unchanged."""
        out = Path(out).expanduser().resolve()
        path = self._save_live(out, with_training_state)
        if path is None:
            with self._lock:
                final = self._final
            if final is None:
                raise CheckpointError("nothing to save yet: the run has not made its first step" if not self._info
                                      else "nothing to save: the training process ended without a checkpoint")
            if not (final / "model.safetensors").is_file():
                raise CheckpointError("this run's files were removed (storage quota); nothing to save")
            path = copy_folder(final, out, skip=() if with_training_state else ("training",))
        if remember:
            with self._lock:
                self.saved_to = str(path)
        return path

    def _save_live(self, out: Path, with_state: bool) -> Path | None:
        """Ask the training process to save; None if it holds no run (not built yet, or ended: see `_final`)."""
        with self._ctl:
            with self._lock:
                live = self._live and self._final is None
            if not live or self._conn is None:
                return None
            self._next_request += 1
            request = self._requests[self._next_request] = {"event": threading.Event()}
            self._send("save", self._next_request, str(out), with_state)
        if not request["event"].wait(SAVE_TIMEOUT_S):
            raise CheckpointError(f"the training process did not save within {SAVE_TIMEOUT_S:.0f} s; try again")
        if request.get("ended"):
            return None                       # it ended first: the caller copies the final checkpoint
        if request.get("error"):
            raise CheckpointError(request["error"])
        return Path(request["path"])

    # ---- the supervisor thread ----
    def _spec(self) -> dict[str, Any]:
        return {"job_id": self.id, "model_cfg": self.model_cfg, "train_cfg": self.train_cfg, "images": self.images,
                "device": str(self.device), "threads": torch.get_num_threads(), "command": self.command,
                "resume_from": self.resume_from, "autosave_dir": str(self.autosave_dir) if self.autosave_dir else None,
                "final_dir": str(self._final_tmp), "budget_steps": self.budget_steps, "budget_s": self.budget_s,
                "paused": self._paused, "step_once": self._step_once, "child_init": self.child_init}
