"""A training run as both the CLI and the background jobs drive it: step, record, sample, guard.

`Run.advance()` does one `Trainer.step()`; every `metrics_every` steps (and at epoch ends and the last step)
it reads the pending metrics with one host sync, appends history rows with images/s, checks every loss is
finite (else restores the last good weights and raises TrainingDiverged naming the step), and every
`sample_every` steps and at each epoch end renders the fixed-noise grid (PNG bytes) with a diversity score
(and, for runs on the built-in digits, the class coverage of the grid by the digits classifier: history key
`coverage`, 0-10; a collapsing run loses digits). Under DDP (`trainer.dist`) the flushed metrics are means over
the ranks (one all-reduce per flush), images/s count the global batch, and only rank 0 renders grids.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gan_core.export import grid_png
from gan_core.training import distributed
from gan_core.training import resume as resume_state
from gan_core.training.trainer import METRIC_NAMES, StepMetrics, Trainer, TrainingDiverged, sample_diversity
from gan_core.training.devices import describe_device

WARMUP_STEPS = 5  # excluded from the steady-state images/s (allocation, cudnn autotuning, compile)
MAX_GRIDS = 240   # grids kept for the timeline and GIF; older ones are thinned to every other


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass
class Grid:
    step: int
    epoch: int
    png: bytes
    diversity: float
    coverage: int | None = None   # digits runs only: classes among the fixed-noise samples (gan_core.evaluation.digits_score)


@dataclass
class Run:
    """One training run: the Trainer, its history rows and grids, and the one way to resume and to save it.
    `dataset` (a display name such as "digits" or a folder's name) and `command` go into the saved model card."""

    trainer: Trainer
    dataset: str | None = None
    command: str | None = None
    history: list[dict] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    warmup_steps: int = WARMUP_STEPS  # steps of this Run left out of steady_images_per_s

    def __post_init__(self) -> None:
        self.restart()

    def restart(self, *, history: list[dict] | None = None) -> None:
        """Start the clocks and the divergence guard from the trainer's current state (after a restore)."""
        if history is not None:
            self.history[:] = history
        self._pending: list[StepMetrics] = []
        self._last_flush_time = time.perf_counter()
        self._last_flush_step = self.trainer.step_count
        self._steady_start: tuple[int, float] | None = None
        self._extras: dict[int, dict] = {}   # step -> grid signals (diversity, coverage) for its history row
        self._advances = 0   # steps taken by this Run (a resumed trainer starts at a later step_count)
        self._last_good = self.trainer.snapshot_weights()
        self._last_good_step = self.trainer.step_count

    def resume(self, source: str | resume_state.ResumePoint) -> None:
        """Continue from a checkpoint (folder, bundled name, Hub id, or a point already read): G and its EMA, D,
        both optimisers, RNG states, augmentation state, data position and history. The trainer must be built with
        the point's `configs()`."""
        point = source if isinstance(source, resume_state.ResumePoint) else resume_state.read_resume_point(source)
        resume_state.restore_training_state(self, point)

    def save(self, out: str | Path, *, with_training_state: bool = True) -> Path:
        """Write the checkpoint folder (atomic): the generator we sample from (the EMA copy when EMA is on; the
        raw G then goes in the resume state), config, model card, latest grid, and the resume state."""
        from gan_core.checkpoints.store import save_checkpoint

        t = self.trainer
        weights = {"generator_weights": "ema" if t.ema is not None else "raw"}
        if t.ema is not None:
            weights["ema_decay"] = t.cfg.ema_decay
        return save_checkpoint(
            out, generator=t.sample_generator, model_cfg=t.model_cfg, train_cfg=t.cfg, steps=t.step_count,
            dataset=self.dataset or t.cfg.dataset, samples_png=self.grids[-1].png if self.grids else None,
            command=self.command, training_state=resume_state.training_state(self) if with_training_state else None,
            extra={"trained_on": describe_device(t.device) if t.world_size == 1
                   else f"{t.world_size} DDP processes, each on {describe_device(t.device)}", **weights})

    @property
    def done(self) -> bool:
        return self.trainer.done

    def advance(self) -> StepMetrics:
        t = self.trainer
        m = t.step()
        self._pending.append(m)
        self._advances += 1
        if self._steady_start is None and self._advances >= self.warmup_steps:
            _sync(t.device)
            self._steady_start = (t.step_count, time.perf_counter())
        last = t.done
        grid = None
        if t.rank == 0 and (t.step_count % t.cfg.sample_every == 0 or m.epoch_end or last or t.step_count == 1):
            grid = self._make_grid()           # before the flush, so the step's row is whole when appended
        if len(self._pending) >= t.cfg.metrics_every or m.epoch_end or last:
            self.flush()                       # raises on divergence: then this grid is never published
        if grid is not None:
            self._publish(grid)
        return m

    def flush(self) -> list[dict]:
        """Read pending metrics (one host sync), append rows, and run the divergence guard."""
        if not self._pending:
            return []
        values = torch.stack([m.values for m in self._pending])           # (k, len(METRIC_NAMES)) on the device
        values = distributed.all_mean(values, self.trainer.dist).cpu()   # DDP: means over the ranks; the one sync
        now = time.perf_counter()
        steps = self._pending[-1].step - self._last_flush_step
        rate = steps * self.images_per_step / max(now - self._last_flush_time, 1e-9)
        rows = []
        for m, v in zip(self._pending, values.tolist()):
            rows.append({"step": m.step, "epoch": m.epoch, **dict(zip(METRIC_NAMES, v)), "images_per_s": rate,
                         **self._extras.pop(m.step, {})})
        pending, self._pending = self._pending, []
        self._last_flush_time, self._last_flush_step = now, pending[-1].step
        bad = [r["step"] for r in rows if not all(map(_finite, (r[k] for k in METRIC_NAMES)))]
        if bad:
            self.trainer.restore_weights(self._last_good)
            self.trainer.step_count = self._last_good_step
            raise TrainingDiverged(bad[0], self._last_good_step)
        self.history.extend(rows)
        self._last_good = self.trainer.snapshot_weights()
        self._last_good_step = self.trainer.step_count
        return rows

    def _make_grid(self) -> Grid:
        samples = self.trainer.sample_fixed()                             # (64, C, H, W) uint8
        g = Grid(self.trainer.step_count, self.trainer.epoch, grid_png(samples), sample_diversity(samples))
        if self.trainer.cfg.dataset.strip().lower() == "digits":
            from gan_core.evaluation.digits_score import samples_coverage  # lazy: only digits runs pay for the classifier

            g.coverage = samples_coverage(samples)
        signals = {"diversity": g.diversity, **({"coverage": g.coverage} if g.coverage is not None else {})}
        if self.history and self.history[-1]["step"] == g.step:          # its row is already out
            self.history[-1].update(signals)
        else:                                                            # joins its row at the next flush
            self._extras[g.step] = signals
        return g

    def _publish(self, g: Grid) -> None:
        self.grids = keep_grid(self.grids, g)

    def steady_images_per_s(self) -> float:
        """Images/s from the end of the warm-up steps to now (after a device sync); NaN if too few steps."""
        if self._steady_start is None:
            return float("nan")
        _sync(self.trainer.device)
        step0, t0 = self._steady_start
        steps = self.trainer.step_count - step0
        return steps * self.images_per_step / max(time.perf_counter() - t0, 1e-9) if steps else float("nan")

    @property
    def images_per_step(self) -> int:
        """Real images one step trains on over all ranks (the global batch): images/s are global figures."""
        return self.trainer.batch_size * self.trainer.world_size


def keep_grid(grids: list[Grid], g: Grid) -> list[Grid]:
    """`grids` with `g` published: it replaces a grid of the same step, else is appended; past MAX_GRIDS the first
    and the newest are kept and the middle thinned to every other. (The server's mirror of a run applies the same
    rule to the grids the training process sends, so both lists stay equal.)"""
    grids = grids[:-1] + [g] if grids and grids[-1].step == g.step else grids + [g]
    return grids[:1] + grids[1:-1:2] + grids[-1:] if len(grids) > MAX_GRIDS else grids


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))
