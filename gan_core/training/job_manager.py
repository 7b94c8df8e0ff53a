"""`JobManager`: process-wide and thread-safe; one running job per device, the others queued in submission order.

Jobs are found by id (an unguessable token) and, with `owner`, only by the session that submitted them.
With `limits` (public mode, gan_core.limits) it also refuses runs over the size limits, a second active run of
one owner and a full queue (nothing is queued then), gives each run its step/time budget and a folder under
`runs_dir`, stops and deletes runs no session has looked at (`get` with an owner counts as looking) for
`abandon_after_s`, and keeps run folders under the storage quota (gan_core/training/storage.py).
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from gan_core.limits import LimitError, PublicLimits, QueueFull, check_run
from gan_core.training import storage
from gan_core.training.job_status import ENDED, QUEUED
from gan_core.training.jobs import TrainingJob

log = logging.getLogger(__name__)


class JobManager:
    """Process-wide and thread-safe: one running job per device; the rest wait in submission order."""

    def __init__(self, *, keep_ended: int = 64, limits: PublicLimits | None = None,
                 runs_dir: str | Path | None = None, quota_roots: tuple[Path, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}
        self._queues: dict[str, list[TrainingJob]] = {}
        self._running: dict[str, TrainingJob] = {}
        self._keep_ended = keep_ended
        self.limits = limits
        self.runs_dir = Path(runs_dir) if runs_dir else None
        self._quota_roots = tuple(quota_roots) or ((self.runs_dir,) if self.runs_dir else ())
        self._seen: dict[str, float] = {}   # job id -> time.monotonic() a session last looked at it

    def submit(self, job: TrainingJob) -> TrainingJob:
        """Queue a job (it starts when its device is free). In public mode raises LimitError / QueueFull first."""
        if self.limits is not None:
            self._admit(job)
        with self._lock:
            self._jobs[job.id] = job
            self._seen[job.id] = time.monotonic()
            self._queues.setdefault(job.device.type, []).append(job)
            self._prune()
        self._schedule()
        return job

    def _admit(self, job: TrainingJob) -> None:
        """Public mode: refuse the job, or give it its budget and its own run folder."""
        lim, m, t = self.limits, job.model_cfg, job.train_cfg
        check_run(lim, image_size=m.image_size, g_width=m.g_width, d_width=m.d_width, batch_size=t.batch_size)
        self.reap()
        with self._lock:
            if any(j.owner == job.owner and j.status not in ENDED for j in self._jobs.values()):
                raise LimitError("this session already has a run: one run per session at a time, stop it first")
            waiting = sum(len([j for j in q if j.status == QUEUED]) for q in self._queues.values())
            busy = any(j.status not in ENDED for j in self._running.values())
            if busy and waiting >= lim.queue_cap:
                raise QueueFull(f"the queue is full ({lim.queue_cap} runs waiting), try again in a few minutes")
        job.budget_steps, job.budget_s = lim.max_steps, lim.max_run_s
        if self.runs_dir is not None and job.autosave_dir is None:
            job.autosave_dir = self.runs_dir / job.id

    def get(self, job_id: str | None, *, owner: str | None = None) -> TrainingJob | None:
        """The job with this id; with `owner`, only if that owner submitted it (and then it counts as looked at)."""
        with self._lock:
            job = self._jobs.get(job_id or "")
            if job is not None and owner is not None and job.owner == owner:
                self._seen[job.id] = time.monotonic()
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job

    def reap(self, *, now: float | None = None) -> list[str]:
        """Public mode: stop and forget runs no session has looked at for `abandon_after_s`, delete their run
        folders, then evict the oldest folders over the storage quota. Returns the ids of the runs reaped."""
        if self.limits is None:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [j for j in self._jobs.values()
                    if now - self._seen.get(j.id, now) > self.limits.abandon_after_s]
            for j in gone:
                del self._jobs[j.id]
                self._seen.pop(j.id, None)
        for j in gone:
            j.stop()
        for j in gone:
            j.join(timeout=30)   # its autosave happens on the way out: delete the folder after it
            if j.autosave_dir is not None and self.runs_dir is not None and self.runs_dir in j.autosave_dir.parents:
                shutil.rmtree(j.autosave_dir, ignore_errors=True)
        if gone:
            self._schedule()
        self.enforce_quota()
        return [j.id for j in gone]

    def start_janitor(self, *, every_s: float = 30.0) -> None:
        """Public mode: a daemon thread calls `reap()` every `every_s` seconds (idempotent; one per manager)."""
        if self.limits is None or getattr(self, "_janitor", None) is not None:
            return

        def loop() -> None:
            while True:
                time.sleep(every_s)
                try:
                    self.reap()
                except Exception:  # a janitor that dies would let abandoned runs pile up: log and go on
                    log.exception("reaping abandoned runs failed")

        self._janitor = threading.Thread(target=loop, name="jobs-janitor", daemon=True)
        self._janitor.start()

    def enforce_quota(self) -> list[Path]:
        """Public mode: delete the oldest run folders until they fit the quota, never an active job's."""
        if self.limits is None or not self._quota_roots:
            return []
        with self._lock:
            keep = {j.autosave_dir for j in self._jobs.values() if j.status not in ENDED and j.autosave_dir}
        return storage.evict_oldest(self._quota_roots, quota_bytes=self.limits.storage_quota_bytes, keep=keep)

    def jobs_of(self, owner: str) -> list[TrainingJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.owner == owner]

    def running(self, device: str) -> TrainingJob | None:
        with self._lock:
            return self._running.get(device)

    def _schedule(self) -> None:
        to_start = []
        with self._lock:
            for device, queue in self._queues.items():
                queue[:] = [j for j in queue if j.status == QUEUED]
                current = self._running.get(device)
                if (current is None or current.status in ENDED) and queue:
                    job = queue.pop(0)
                    self._running[device] = job
                    to_start.append(job)
                for pos, j in enumerate(queue, start=1):
                    j.queue_position = pos
        for job in to_start:
            job.start(on_done=self._finished)

    def _finished(self, job: TrainingJob) -> None:
        with self._lock:
            if self._running.get(job.device.type) is job:
                del self._running[job.device.type]
        self._schedule()
        self.enforce_quota()

    def stop(self, job: TrainingJob) -> None:
        job.stop()
        self._schedule()

    def _prune(self) -> None:
        ended = [j for j in self._jobs.values() if j.status in ENDED]
        for j in ended[:-self._keep_ended] if len(ended) > self._keep_ended else []:
            del self._jobs[j.id]
            self._seen.pop(j.id, None)
