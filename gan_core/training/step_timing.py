"""Seconds per training step of a model, timed on real steps: what the Train page's time estimate is fitted to.

`seconds_per_step` runs wherever it is called; `call_in_training_process(seconds_per_step, ...)` runs it in a
process like the ones that train (a child of the forkserver: their OpenMP waiting, our thread count), which is
what the estimate must match: the server itself waits passively and steps 1.5x slower at 2 threads.
"""
from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any, Callable

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


def call_in_training_process(fn: Callable[..., Any], *args: Any, timeout: float = 120.0) -> Any:
    """`fn(*args)` in a fresh child of the forkserver, i.e. in the training processes' environment with our torch
    thread count. `fn` must be a module-level function; its result comes back pickled. Raises RuntimeError with
    the child's error."""
    from gan_core.training import worker

    ours, theirs = multiprocessing.Pipe(duplex=False)               # (receiving end, sending end)
    proc = worker.start_child(_call, (theirs, fn, args, torch.get_num_threads()))
    theirs.close()
    try:
        if not ours.poll(timeout):
            raise RuntimeError(f"the measuring process gave no answer in {timeout:.0f} s")
        ok, value = ours.recv()
    except EOFError:
        raise RuntimeError(f"the measuring process ended without an answer (exit code {proc.exitcode})") from None
    finally:
        ours.close()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if not ok:
        raise RuntimeError(value)
    return value


def _call(conn: Connection, fn: Callable[..., Any], args: tuple, threads: int) -> None:
    torch.set_num_threads(threads)
    try:
        conn.send((True, fn(*args)))
    except Exception as exc:  # reported to the caller as one line
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
