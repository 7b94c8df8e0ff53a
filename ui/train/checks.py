"""Plain-language diagnoses of a training run from its history: the discriminator wins, samples collapse, divergence.

Pure functions over the history rows of `gan_core.training.run.Run` (no streamlit), each returning a `Banner` with what
is going on and what to try, or None. The page shows them as warnings/errors above the live charts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

D_WINS_WINDOW = 100       # steps looked at
D_WINS_AFTER = 200        # a fresh D wins for a while in most healthy runs: judge only after this many steps
D_WINS_REAL = 0.95        # mean D(x) above this ...
D_WINS_FAKE = 0.05        # ... and mean D(G(z)) below this: D tells them apart perfectly, G gets no gradient
COLLAPSE_MIN_PEAK = 0.08  # the samples must have been diverse once (a fresh G's samples all look alike)
COLLAPSE_RATIO = 0.4      # latest diversity below 40% of its peak: the fixed-noise samples became near-identical


@dataclass(frozen=True)
class Banner:
    kind: str     # "d_wins" | "collapse" | "diverged"
    level: str    # "warning" | "error"
    text: str


def d_wins(rows: Sequence[dict]) -> Banner | None:
    """D(x) -> 1 and D(G(z)) -> 0 over the last D_WINS_WINDOW steps."""
    if len(rows) < D_WINS_WINDOW or rows[-1]["step"] <= D_WINS_AFTER:
        return None
    last = rows[-D_WINS_WINDOW:]
    real = sum(r["d_real"] for r in last) / len(last)
    fake = sum(r["d_fake_before"] for r in last) / len(last)
    if real > D_WINS_REAL and fake < D_WINS_FAKE:
        return Banner("d_wins", "warning", (
            f"The discriminator is winning: over the last {D_WINS_WINDOW} steps D(x) ≈ {real:.2f} and "
            f"D(G(z)) ≈ {fake:.2f}, so the generator gets almost no useful gradient. Try: label smoothing 0.1, "
            "a lower D learning rate (or a higher G one), 2 G steps per D step, or a narrower discriminator."))
    return None


def diversities(rows: Sequence[dict]) -> list[tuple[int, float]]:
    """(step, diversity) of the fixed-noise grids recorded in the history (mean pairwise distance, 0 = identical)."""
    return [(r["step"], r["diversity"]) for r in rows if "diversity" in r]


def collapse(rows: Sequence[dict]) -> Banner | None:
    """The latest fixed-noise grid is far less diverse than the most diverse grid seen so far."""
    div = diversities(rows)
    if len(div) < 3:
        return None
    peak_step, peak = max(div, key=lambda sd: sd[1])
    step, latest = div[-1]
    if peak >= COLLAPSE_MIN_PEAK and latest < COLLAPSE_RATIO * peak:
        return Banner("collapse", "warning", (
            f"The samples are collapsing: the fixed-noise images at step {step} are much more alike "
            f"(diversity {latest:.3f}) than at step {peak_step} ({peak:.3f}); the generator is producing a few "
            "modes only. Try: a lower G learning rate, label smoothing 0.1, a larger batch, or restart with "
            "another seed."))
    return None


def diverged(error: str | None) -> Banner | None:
    """`error`: the job's message when it failed with TrainingDiverged (JobSnapshot.diverged), else None."""
    if error:
        return Banner("diverged", "error", (
            f"Training diverged and stopped: {error}. The last good weights are kept, so you can still save "
            "them. Try lower learning rates (e.g. 1e-4), label smoothing 0.1, or a smaller batch."))
    return None


def banners(rows: Sequence[dict], *, diverged_error: str | None = None) -> list[Banner]:
    """The banners that apply: divergence (pass the job's error when JobSnapshot.diverged), D winning, collapse."""
    return [b for b in (diverged(diverged_error), d_wins(rows), collapse(rows)) if b is not None]
