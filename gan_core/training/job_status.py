"""What a training job looks like from outside: its `Status` (and the groups ACTIVE / ENDED) and the
`JobSnapshot` a page or a test reads. Torch-free, so a page can name states before the engine loads."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """A job's state. A str (StrEnum), so it compares, formats and serialises as the plain word the UI shows."""

    QUEUED = "queued"
    LOADING = "loading"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


QUEUED, LOADING, RUNNING, PAUSED, FINISHED, STOPPED, FAILED = Status   # the short names the UI imports
ACTIVE = (LOADING, RUNNING, PAUSED)
ENDED = (FINISHED, STOPPED, FAILED)


@dataclass
class JobSnapshot:
    id: str
    status: Status
    step: int
    total_steps: int
    epoch: int
    epochs: int
    steps_per_epoch: int
    history: list[dict]
    history_len: int
    grid_steps: list[int]
    latest_grid: bytes | None
    error: str | None
    images_per_s: float
    elapsed_s: float
    eta_s: float | None
    queue_position: int
    device: str
    data: dict[str, Any] = field(default_factory=dict)
    saved_to: str | None = None
    diverged: bool = False           # failed with TrainingDiverged (the last good weights were kept)
    note: str | None = None   # why a run stopped on its own (a public-mode budget), shown beside its status

    @property
    def ended(self) -> bool:
        return self.status in ENDED
