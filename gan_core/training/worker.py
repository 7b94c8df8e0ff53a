"""The training process: a `TrainingJob` (jobs.py, in the server) runs its `Run` here, in a child process of its own,
so the server's page reruns never take the GIL (or a core's worth of Python) from the training loop.

`launch(spec)` forks the child from a forkserver that has already imported torch and the engine (`prestart()`
starts it; the server does that while it warms up; gan_core/training/forkserver_setup.py keeps the children from
re-running the server's main script), so a run starts in a fraction of a second instead of the
seconds a fresh interpreter needs to import torch. Never a plain fork of the threaded server. The child
(`main`) builds the Run (loading the images itself when the job has none; an uploaded ImageSet arrives through
torch's shared memory), steps it, obeys the parent's control messages between steps, and sends back only what a
page shows. Messages (tuples, kind first) on one `multiprocessing` Pipe:

parent -> child: ("pause",) ("resume",) ("step",) ("stop",) ("save", request_id, out_path, with_training_state)
child -> parent: ("ready", info) ("status", status) ("progress", counters, row_start, rows, grids)
                 ("saved", request_id, path | None, error | None) ("done", outcome)

The child never imports streamlit. It runs at a slightly lower priority (`NICE`) so that the interactive page
reruns win a contested core; it exits when its run ends or when the parent's end of the pipe closes.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

import torch

from gan_core.checkpoints.store import CheckpointError
from gan_core.data.datasets import ImageSet, load_images
from gan_core.errors import UserError
from gan_core.training.devices import describe_device
from gan_core.training.job_status import FAILED, FINISHED, PAUSED, RUNNING, STOPPED
from gan_core.training.run import Grid, Run
from gan_core.training.trainer import Trainer, TrainingDiverged

# Added to the child's niceness: page reruns (nice 0) get a contested core first. DCGAN_STUDIO_TRAIN_NICE=0 gives
# training an equal share, e.g. on a machine whose other work should not push the run back.
NICE = int(os.environ.get("DCGAN_STUDIO_TRAIN_NICE", "5"))
SEND_EVERY_S = 0.25   # counters go out at most this often; new rows, grids and status changes at once

_context = multiprocessing.get_context("forkserver")
# The forkserver imports these once: the first skips re-running the server's main script in each child (see it),
# this module brings torch and the engine.
_context.set_forkserver_preload(["gan_core.training.forkserver_setup", __name__])
_ROOT = str(Path(__file__).resolve().parents[2])   # the folder holding gan_core


_forkserver_env: dict[str, str | None] = {}   # prestart(env=...): variables the forkserver starts with


def prestart(env: dict[str, str | None] | None = None) -> None:
    """Start the forkserver now (it imports torch and the engine: seconds), so the first run starts fast.

    `env`: variables the forkserver, and so every training process, starts with instead of ours (None: unset);
    remembered for a later start. Only its start reads them: OpenMP reads OMP_* once, when torch loads there."""
    from multiprocessing import forkserver

    if env is not None:
        _forkserver_env.update(env)
    # The forkserver starts as `python -c ...` in our working directory: make sure it can import gan_core.
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _ROOT not in paths and Path.cwd().resolve() != Path(_ROOT):
        os.environ["PYTHONPATH"] = os.pathsep.join([_ROOT, *paths])
    ours = {key: os.environ.get(key) for key in _forkserver_env}
    _set_env(_forkserver_env)            # the forkserver is exec'd with this process's environment
    try:
        forkserver.ensure_running()
    finally:
        _set_env(ours)


def _set_env(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def start_child(target: Callable[..., Any], args: tuple, *, name: str | None = None
                ) -> multiprocessing.process.BaseProcess:
    """`target(*args)` in a fresh child of the forkserver (started first if need be): a training process, or one
    that measures like one (step_timing.py)."""
    prestart()
    proc = _context.Process(target=target, args=args, name=name, daemon=True)
    proc.start()
    return proc


def launch(spec: dict[str, Any]) -> tuple[multiprocessing.process.BaseProcess, Connection]:
    """Start the training process for `spec` (see TrainingJob._spec); returns it and the parent's end of the pipe."""
    ours, theirs = _context.Pipe()
    proc = start_child(main, (theirs, spec), name=f"train-{spec['job_id'][:8]}")
    theirs.close()   # the child holds its own copy: when the child dies our end sees EOF
    return proc, ours


# ---- the child ----
def main(conn: Connection, spec: dict[str, Any]) -> None:
    """The child's entry point: a run from build to its end (or the parent's death)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C in the server's terminal: the server stops us
    try:
        os.nice(NICE)
    except OSError:
        pass
    torch.set_num_threads(spec["threads"])          # the server's own count: the child is its training thread
    if spec.get("child_init") is not None:
        spec["child_init"]()                         # tests inject faults here
    try:
        _Worker(conn, spec).work()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass                                         # the server went away: nothing left to report to


class _Worker:
    def __init__(self, conn: Connection, spec: dict[str, Any]) -> None:
        self.conn, self.spec = conn, spec
        self.paused, self.step_once, self.stopped = spec["paused"], spec["step_once"], False
        self.run: Run | None = None
        self.elapsed = self.step_s = 0.0
        self.rows_sent = 0
        self.grids_sent: tuple[int, int] = (0, -1)   # (number of grids, step of the newest) last sent
        self.last_send = 0.0
        self.status = None

    # ---- messages ----
    def send(self, *msg: Any) -> None:
        self.conn.send(msg)

    def set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.send("status", status)

    def handle(self, timeout: float = 0.0) -> None:
        """Obey every waiting control message (waiting up to `timeout` s for the first)."""
        while self.conn.poll(timeout):
            timeout = 0.0
            kind, *args = self.conn.recv()
            if kind == "pause":
                self.paused = True
            elif kind == "resume":
                self.paused = self.step_once = False
            elif kind == "step":
                self.paused = self.step_once = True
            elif kind == "stop":
                self.stopped = True
            elif kind == "save":
                self.save(*args)

    def save(self, request: int, out: str, with_state: bool) -> None:
        try:
            self.send("saved", request, str(self.run.save(out, with_training_state=with_state)), None)
        except (UserError, OSError) as exc:
            self.send("saved", request, None, str(exc))

    def progress(self, force: bool = False) -> None:
        """Send counters, new history rows and new grids (at once if there are any, else at most every 0.25 s)."""
        run, now = self.run, time.monotonic()
        grids = (len(run.grids), run.grids[-1].step if run.grids else -1)
        # Rows are re-sent from the last one sent: a grid's signals can join the newest row after it went out.
        start = max(self.rows_sent - 1, 0)
        fresh = len(run.history) > self.rows_sent or grids != self.grids_sent
        if not (force or fresh or now - self.last_send >= SEND_EVERY_S):
            return
        new_grids = [(g.step, g.epoch, g.png, g.diversity, g.coverage) for g in run.grids
                     if grids != self.grids_sent and g.step >= self.grids_sent[1]]
        t = run.trainer
        counters = {"step": t.step_count, "epoch": t.epoch, "elapsed": self.elapsed,
                    "rate": t.batch_size / self.step_s if self.step_s else 0.0}
        self.send("progress", counters, start, [dict(r) for r in run.history[start:]], new_grids)
        self.rows_sent, self.grids_sent, self.last_send = len(run.history), grids, now

    # ---- the run ----
    def build(self) -> None:
        spec = self.spec
        images: ImageSet | None = spec["images"]
        m, t = spec["model_cfg"], spec["train_cfg"]
        if images is None:
            images = load_images(t.dataset, image_size=m.image_size, channels=m.channels)
        trainer = Trainer(m, t, images=images.images, device=torch.device(spec["device"]))
        run = Run(trainer, dataset=images.name, command=spec["command"])
        if spec["resume_from"]:
            run.resume(spec["resume_from"])
        self.run = run
        self.send("ready", {
            "device": describe_device(trainer.device), "total_steps": trainer.total_steps,
            "steps_per_epoch": trainer.steps_per_epoch, "batch_size": trainer.batch_size,
            "data": {"name": images.name, "count": int(images.images.shape[0]), "skipped": dict(images.skipped)}})
        self.progress(force=True)

    def over_budget(self) -> str | None:
        """The budget this run has used up ('3,000 steps', '15 min of training'), or None."""
        steps, seconds = self.spec["budget_steps"], self.spec["budget_s"]
        if steps is not None and self.run.trainer.step_count >= steps:
            return f"{steps:,} steps"
        if seconds is not None and self.elapsed >= seconds:
            return f"{seconds / 60:g} min of training"
        return None

    def loop(self) -> str | None:
        """Train until done, stopped, or over budget; returns the budget that ended it, if one did."""
        run = self.run
        budget = None
        while not run.done and not self.stopped and not (budget := self.over_budget()):
            self.handle()
            if self.stopped:
                break
            if self.paused and not self.step_once:
                self.set_status(PAUSED)
                self.handle(0.5)
                continue
            once, self.step_once = self.step_once, False
            self.set_status(PAUSED if once else RUNNING)
            t0 = time.perf_counter()
            run.advance()
            dt = time.perf_counter() - t0
            self.elapsed += dt
            # An average of seconds per step, not of per-step rates: the mean of rates overweights the fast steps
            # and showed twice the real speed when some steps waited for a core.
            self.step_s = dt if self.step_s == 0 else 0.9 * self.step_s + 0.1 * dt
            self.progress(force=once)
        if not self.stopped:
            run.flush()
        return budget

    def keep(self, autosave: Path | None, *, quiet: bool = False) -> tuple[str | None, str | None]:
        """Autosave (if the job has a folder) and keep a final checkpoint that the parent copies from once we have
        exited (Save after the run ended). Returns (saved_to, final folder). `quiet`: a failed autosave is only
        reported (after a divergence, whose message matters more); otherwise it fails the job, as it always did."""
        saved = None
        if autosave is not None:
            try:
                saved = str(self.run.save(autosave))
            except Exception:
                if not quiet:
                    raise
                print(f"could not save the last good checkpoint:\n{traceback.format_exc()}", file=sys.stderr)
        final = saved
        if final is None:
            try:
                final = str(self.run.save(self.spec["final_dir"]))
            except Exception:
                print(f"could not keep the final checkpoint:\n{traceback.format_exc()}", file=sys.stderr)
        return saved, final

    def work(self) -> None:
        spec = self.spec
        autosave = Path(spec["autosave_dir"]) if spec["autosave_dir"] else None
        out: dict[str, Any] = {"status": FAILED, "error": None, "note": None, "diverged": False, "saved_to": None,
                               "final": None, "traceback": None}
        try:
            self.build()
            budget = self.loop()
            self.progress(force=True)
            out["status"] = STOPPED if (self.stopped or budget) and not self.run.done else FINISHED
            out["saved_to"], out["final"] = self.keep(autosave)
            if budget:
                kept = f"; its checkpoint is kept ({out['saved_to']})" if out["saved_to"] else ""
                out["note"] = f"Stopped at the public budget of {budget}{kept}."
        except TrainingDiverged as exc:   # the run restored its last good weights before raising
            self.progress(force=True)
            saved, out["final"] = self.keep(autosave, quiet=True)
            message = str(exc)
            out.update(diverged=True, saved_to=saved,
                       error=f"{message.rstrip('.')}. Saved to {saved}." if saved else message)
        except torch.cuda.OutOfMemoryError:
            out["error"] = "the GPU ran out of memory: lower the batch size, the widths or the image size"
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise
        except (UserError, CheckpointError) as exc:
            out["error"] = str(exc)
        except Exception as exc:  # unexpected: short message to the UI, the details to the server's log
            out["traceback"] = traceback.format_exc()
            out["error"] = (f"training stopped by an internal error ({type(exc).__name__}: {exc}); "
                            "details are in the server log")
        self.send("done", out)


def grid_of(t: tuple) -> Grid:
    """A Grid from the tuple `progress` sends (step, epoch, png, diversity, coverage)."""
    return Grid(*t)
