"""Faults injected into a training process: `TrainingJob(child_init=...)` calls one of these first in the child
(gan_core/training/worker.py), where a test's monkeypatch cannot reach. Each patches the engine in that process only."""
from __future__ import annotations

import time

import torch


def poison_d_before_step_2() -> None:
    """D's weights turn NaN right before step 2 (after step 1's metrics were read: step 1 stays the last good)."""
    from gan_core.training.trainer import Trainer

    real_step = Trainer.step

    def step(self):
        if self.step_count == 1:
            with torch.no_grad():
                next(self.D.parameters()).fill_(float("nan"))
        return real_step(self)

    Trainer.step = step


def oom_on_second_step() -> None:
    """A CUDA out-of-memory error at the second step (the first trains normally)."""
    from gan_core.training.trainer import Trainer

    real_step = Trainer.step

    def step(self):
        if self.step_count >= 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_step(self)

    Trainer.step = step


def broken_step() -> None:
    """An unexpected error in every step (its message contains 'diverged', which alone is not a divergence)."""
    from gan_core.training.trainer import Trainer

    def broken_step(self):
        raise ZeroDivisionError("float division by zero: diverged")

    Trainer.step = broken_step


def every_fifth_step_waits() -> None:
    """One step in five waits 0.15 s more (as when another process holds the core)."""
    from gan_core.training.run import Run

    real_advance = Run.advance

    def uneven(self):
        m = real_advance(self)
        if m.step % 5 == 0:
            time.sleep(0.15)
        return m

    Run.advance = uneven
