"""One evaluation, as the CLI (`gan_core eval`) and the Evaluate page both run it.

A generator makes N images from one seeded noise stream (z ~ N(0, I), `torch.Generator().manual_seed(seed)`);
the digits score judges them with our classifier (offline); FID/KID/IS compare them with N real images of the
dataset at the generator's size and channels (drawn by a seeded permutation) through Inception-v3. A metric that
cannot run (offline, no weights) is reported in `unavailable` with a one-line reason; the others still run.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from huggingface_hub import ModelCard

from gan_core.checkpoints.modelcard import SCORES, score_table, set_section
from gan_core.checkpoints.store import LoadedGenerator, load_generator, read_config_json
from gan_core.data.datasets import load_images
from gan_core.evaluation.inception import (INCEPTION_METRICS, MetricUnavailable, Progress, inception_features, inception_model,
                      scores_from_features)
from gan_core.sampling import images_from_z

METRICS = ("fid", "kid", "is", "digits")
MAX_N = 50_000


@dataclass
class EvalResult:
    values: dict[str, float]                    # metric name -> number (flat: the CLI's JSON)
    unavailable: dict[str, str] = field(default_factory=dict)   # metric -> one-line reason
    details: dict[str, Any] = field(default_factory=dict)       # e.g. digits class shares, real reference
    seconds: float = 0.0


def parse_metrics(text: str | Sequence[str] | None, *, dataset: str) -> list[str]:
    """'fid,kid' -> ['fid', 'kid']; None/'auto' -> fid,kid,is plus digits when the dataset is digits."""
    if text is None or text == "auto":
        return ["fid", "kid", "is"] + (["digits"] if dataset.strip().lower() == "digits" else [])
    names = [m.strip().lower() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise ValueError(f"unknown metric {', '.join(bad) or '(none)'}: choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def generate(loaded: LoadedGenerator, n: int, *, seed: int = 0, progress: Progress | None = None,
             batch_size: int = 256) -> torch.Tensor:
    """n images uint8 (n, C, H, W) from one seeded noise stream."""
    z = torch.randn(n, loaded.config.z_dim, generator=torch.Generator().manual_seed(seed))
    out = []
    for start in range(0, n, batch_size):
        out.append(images_from_z(loaded.generator, z[start:start + batch_size]))
        if progress:
            progress("generating", min(start + batch_size, n), n)
    return torch.cat(out)


def real_images(dataset: str, n: int, *, image_size: int, channels: int, seed: int = 0) -> torch.Tensor:
    """n real images of `dataset` fitted to the generator's size (fewer if the dataset is smaller)."""
    images = load_images(dataset, image_size=image_size, channels=channels).images
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    return images[order[:n]]


def _digits(fake: torch.Tensor, result: EvalResult, *, seed: int, progress: Progress | None) -> None:
    """The offline digits score of the generated images, into `result`."""
    from gan_core.evaluation.digits_score import digits_score

    if progress:
        progress("digits classifier", 0, 1)
    score = digits_score(fake, seed=seed)
    result.values.update(score.as_metrics())
    result.details["digits"] = score.to_dict()
    if progress:
        progress("digits classifier", 1, 1)


def _inception(fake: torch.Tensor, result: EvalResult, wanted: list[str], *, loaded: LoadedGenerator,
               dataset: str, seed: int, device: str | torch.device, progress: Progress | None) -> None:
    """FID/KID/IS of the generated images against `dataset`, into `result` (or why they are unavailable)."""
    n = fake.shape[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchmetrics' feature-buffer memory notes
            inception_model(device, progress)        # first: offline fails before any real data loads
            real_pool = None
            if "fid" in wanted or "kid" in wanted:
                real = real_images(dataset, n, image_size=loaded.config.image_size,
                                   channels=loaded.config.channels, seed=seed)
                if real.shape[0] < 2:
                    raise ValueError(f"{dataset} has fewer than 2 images")
                real_pool, _ = inception_features(real, device=device, progress=progress,
                                                  stage="Inception: real images")
            fake_pool, fake_logits = inception_features(fake, device=device, progress=progress,
                                                        stage="Inception: generated images")
            if progress:
                progress("FID / KID / IS", 0, 1)
            result.values.update(scores_from_features(real_pool, fake_pool, fake_logits, metrics=wanted,
                                                      seed=seed))
    except MetricUnavailable as exc:
        for m in wanted:
            result.unavailable[m] = str(exc)


def evaluate(source: str | LoadedGenerator, *, dataset: str = "digits", n: int = 1000,
             metrics: Sequence[str] | str | None = None, seed: int = 0, device: str | torch.device = "cpu",
             progress: Progress | None = None) -> EvalResult:
    """Compute the chosen metrics for a generator (a checkpoint source or an already loaded one)."""
    t0 = time.perf_counter()
    if not 2 <= n <= MAX_N:
        raise ValueError(f"n must be between 2 and {MAX_N}, got {n}")
    chosen = parse_metrics(metrics, dataset=dataset)
    loaded = source if isinstance(source, LoadedGenerator) else load_generator(source, device=device)
    fake = generate(loaded, n, seed=seed, progress=progress)
    result = EvalResult(values={})
    if "digits" in chosen:
        _digits(fake, result, seed=seed, progress=progress)
    wanted = [m for m in chosen if m in INCEPTION_METRICS]
    if wanted:
        _inception(fake, result, wanted, loaded=loaded, dataset=dataset, seed=seed, device=device,
                   progress=progress)
    result.details.update(n=n, seed=seed, dataset=dataset, source=loaded.source, steps=loaded.info.get("steps"))
    result.seconds = time.perf_counter() - t0
    return result


def record_scores(folder: str | Path, scores: dict[str, Any]) -> Path:
    """Write `scores` into a local checkpoint's config.json ("scores") and its model card's Scores section.

    Only those two places change: the rest of config.json and of the card stay as they are. Each file is
    written to a temporary sibling and renamed over the original, so a crash leaves the old file.
    """
    folder = Path(folder)
    cfg_file, card_file = folder / "config.json", folder / "README.md"
    info = read_config_json(folder)
    info["scores"] = scores
    _replace(cfg_file, json.dumps(info, indent=2, sort_keys=True))
    if card_file.is_file():
        card = ModelCard(card_file.read_text(encoding="utf-8"), ignore_metadata_errors=True)
        card.text = set_section(card.text, SCORES, score_table(scores))
        _replace(card_file, str(card))
    return folder


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
