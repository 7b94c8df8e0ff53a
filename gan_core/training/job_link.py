"""The server's end of a training process: `ProcessLink`, the part of `TrainingJob` (jobs.py) that starts the child
(gan_core/training/worker.py), mirrors its messages into the job's fields under the job's lock, and reports how
it ended: its own outcome, or a one-line failure naming how it died (killed, crashed), after which the server goes
on. It runs in the job's supervisor thread; the fields it fills are created by `TrainingJob.__init__`.
"""
from __future__ import annotations

import logging
import signal
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from gan_core.training import worker
from gan_core.training.job_status import ENDED, FAILED, STOPPED
from gan_core.training.run import keep_grid

log = logging.getLogger("gan_core.training.jobs")   # one logger for a job's messages, whichever half logs them


class ProcessLink:
    """Mixin of TrainingJob: the supervisor thread's work (start the child, listen, publish its end)."""

    def _supervise(self) -> None:
        outcome = None
        try:
            spec = self._spec()
            if not self._stopped:
                proc, conn = worker.launch(spec)
                with self._ctl:   # controls pressed while the process started are passed on now
                    self._proc, self._conn = proc, conn
                    if self._stopped:
                        self._send("stop")
                    elif (self._paused, self._step_once) != (spec["paused"], spec["step_once"]):
                        self._send("step" if self._step_once else "pause" if self._paused else "resume")
                outcome = self._listen(proc, conn)
        except Exception as exc:  # could not start the process at all
            log.exception("training job %s could not start its process", self.id)
            outcome = {"status": FAILED, "error": f"the training process could not start ({type(exc).__name__}: "
                                                  f"{exc}); details are in the server log"}
        finally:
            self._ended(outcome)
            if self._on_done:
                self._on_done(self)

    def _listen(self, proc: Any, conn: Any) -> dict[str, Any]:
        """Mirror the child's messages until it exits; returns its outcome (or a failure naming how it died)."""
        outcome = None
        while True:
            ready = wait([conn, proc.sentinel])
            try:
                while conn in ready or conn.poll():
                    ready = ()
                    msg = conn.recv()
                    if msg[0] == "done":
                        outcome = msg[1]
                    self._apply(msg)
            except (EOFError, OSError):
                break                                 # the child closed its end: it has exited (or died)
            if proc.sentinel in ready or proc.exitcode is not None:
                break
        proc.join(10)
        if proc.exitcode is None:                     # stuck after its last word: never leave it behind
            proc.kill()
            proc.join(10)
        if outcome is None:
            code = proc.exitcode
            how = (f"was killed ({signal.Signals(-code).name})" if code is not None and code < 0
                   else f"ended unexpectedly (exit code {code})")
            log.error("training job %s: its process %s", self.id, how)
            outcome = {"status": FAILED, "error": f"the training process {how}; the server is still running. Start "
                                                  "the run again, or resume it from a saved checkpoint"}
        return outcome

    def _apply(self, msg: tuple) -> None:
        kind, *args = msg
        if kind == "saved":
            request_id, path, error = args
            with self._ctl:
                request = self._requests.pop(request_id, None)
            if request is not None:
                request.update(path=path, error=error)
                request["event"].set()
            return
        with self._lock:
            if kind == "ready":
                self._info, self._live = args[0], True
            elif kind == "status" and self.status not in ENDED:
                self.status = args[0]
            elif kind == "progress":
                counters, start, rows, grids = args
                self._counters.update(counters)
                self._history[start:] = rows
                for g in grids:
                    self._grids = keep_grid(self._grids, worker.grid_of(g))
            elif kind == "done":
                out = args[0]
                if out.get("traceback"):
                    log.error("training job %s failed:\n%s", self.id, out["traceback"])
                self._final = Path(out["final"]) if out.get("final") else None

    def _ended(self, outcome: dict[str, Any] | None) -> None:
        """The child has exited: publish its outcome, answer pending saves, drop the pipe."""
        with self._ctl:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            pending, self._requests = self._requests, {}
        for request in pending.values():
            request["ended"] = True
            request["event"].set()
        with self._lock:
            self._live = False
            if outcome is None:                       # stopped while queued or before its process started
                self.status = STOPPED
                return
            self.status = outcome["status"]
            self.error, self.note = outcome.get("error"), outcome.get("note")
            self.diverged = bool(outcome.get("diverged"))
            if outcome.get("saved_to"):
                self.saved_to = outcome["saved_to"]
