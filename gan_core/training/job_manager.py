"""`JobManager`: process-wide and thread-safe; one running job per device, the others queued in submission order.

Jobs are found by id (an unguessable token) and, with `owner`, only by the session that submitted them.
"""
from __future__ import annotations

import threading

from gan_core.training.jobs import ENDED, QUEUED, TrainingJob


class JobManager:
    """Process-wide and thread-safe: one running job per device; the rest wait in submission order."""

    def __init__(self, *, keep_ended: int = 64) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}
        self._queues: dict[str, list[TrainingJob]] = {}
        self._running: dict[str, TrainingJob] = {}
        self._keep_ended = keep_ended

    def submit(self, job: TrainingJob) -> TrainingJob:
        with self._lock:
            self._jobs[job.id] = job
            self._queues.setdefault(job.device.type, []).append(job)
            self._prune()
        self._schedule()
        return job

    def get(self, job_id: str | None, *, owner: str | None = None) -> TrainingJob | None:
        """The job with this id; with `owner`, only if that owner submitted it."""
        with self._lock:
            job = self._jobs.get(job_id or "")
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job

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

    def stop(self, job: TrainingJob) -> None:
        job.stop()
        self._schedule()

    def _prune(self) -> None:
        ended = [j for j in self._jobs.values() if j.status in ENDED]
        for j in ended[:-self._keep_ended] if len(ended) > self._keep_ended else []:
            del self._jobs[j.id]
