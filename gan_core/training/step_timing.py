"""Seconds per training step of a model, timed on real steps: what the Train page's time estimate is fitted to.

`seconds_per_step` runs wherever it is called; `worker.call_in_training_process(seconds_per_step, ...)` runs it in
a process like the ones that train (the forkserver's environment: their OpenMP waiting; our thread count), which is
what the estimate must match: the server itself waits passively and steps 1.5x slower at 2 threads.
"""
from __future__ import annotations

import time

import torch

from gan_core.config import ModelConfig, TrainConfig


def seconds_per_step(model: ModelConfig, train: TrainConfig) -> float:
    """Time real training steps on random images: 2 warm-up steps, then 4 timed (host-synced at both ends)."""
    from gan_core.training.devices import resolve_device
    from gan_core.training.trainer import Trainer

    fake = torch.randint(0, 256, (train.batch_size, model.channels, model.image_size, model.image_size),
                         dtype=torch.uint8)
    trainer = Trainer(model, train, images=fake, device=resolve_device(train.device))
    for _ in range(2):
        trainer.step()
    trainer.step().values.cpu()  # host sync: the device has finished the warm-up
    t0 = time.perf_counter()
    for _ in range(4):
        m = trainer.step()
    m.values.cpu()
    return (time.perf_counter() - t0) / 4
