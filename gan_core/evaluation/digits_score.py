"""The offline digits score: judge generated digits with our own small classifier (no download, no Inception).

From the classifier's class probabilities p(y|x) and 64-d penultimate features on N generated images:
- coverage: how many of the 10 digits get a real share of the samples (argmax share >= 5%, half of uniform);
- confident share: fraction of samples whose top class probability is >= 0.9 (recognisable digits);
- classifier score: exp(E_x KL(p(y|x) || p(y))), Inception-Score style, between 1 and 10;
- Fréchet distance (FD) between Gaussian fits of generated and real features, and the real-vs-real floor: the FD
  between two disjoint sets of real digits of the same size, i.e. the smallest value sampling noise allows.
Real digits are the built-in training split (4,000 digits the classifier never saw). These numbers live in the
classifier's feature space: they are NOT comparable with Inception FID/IS or with published MNIST numbers.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch

from gan_core.data.datasets import load_digits
from gan_core.evaluation.digit_classifier import classify

COVERAGE_SHARE = 0.05      # a class counts as generated when it gets >= 5% of the samples (uniform is 10%)
CONFIDENT = 0.9            # a sample is "confidently classified" when its top probability is >= 0.9
MAX_REFERENCE = 2000       # real digits per side: 2 x 2,000 disjoint fit in the 4,000-digit training split


@dataclass
class DigitsScore:
    n: int
    coverage: int
    class_shares: list[float]
    confident_share: float
    classifier_score: float
    fd: float
    fd_floor: float
    real_classifier_score: float
    real_confident_share: float

    def as_metrics(self) -> dict[str, float]:
        """Flat name -> number mapping (the CLI's JSON keys)."""
        return {"digits_coverage": self.coverage, "digits_confident": self.confident_share,
                "digits_score": self.classifier_score, "digits_fd": self.fd, "digits_fd_floor": self.fd_floor,
                "digits_real_score": self.real_classifier_score, "digits_real_confident": self.real_confident_share}

    def to_dict(self) -> dict:
        return asdict(self)


def coverage(probs: torch.Tensor, *, share: float = COVERAGE_SHARE) -> int:
    """Classes whose argmax share of the samples is >= `share`. probs: (N, 10)."""
    if probs.shape[0] == 0:
        return 0
    counts = torch.bincount(probs.argmax(1), minlength=10).float()
    return int((counts / probs.shape[0] >= share).sum())


def classifier_score(probs: torch.Tensor) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) with p(y) the mean over the samples: 1 (one class / unsure) .. 10."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    kl = (p * (p.log() - marginal.log())).sum(1)                     # (N,)
    return float(kl.mean().exp())


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussian fits of features a (N, F), b (M, F).

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a S_b (real and >= 0 in exact
    arithmetic for PSD covariances; tiny negative/complex round-off is dropped), computed in float64.
    """
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = torch.cov(a.T), torch.cov(b.T)                         # (F, F), unbiased
    eig = torch.linalg.eigvals(s_a @ s_b)
    tr_sqrt = eig.sqrt().real.clamp_min(0).sum()
    return float((mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * tr_sqrt)


@functools.lru_cache(maxsize=4)
def _real_reference(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(probs of reference A, features of A, features of a disjoint set B), n real digits each, seeded."""
    images, _ = load_digits(split="train")                             # (4000, 1, 28, 28)
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    probs_a, feats_a = classify(images[order[:n]])
    _, feats_b = classify(images[order[n:2 * n]])
    return probs_a, feats_a, feats_b


def digits_score(fake: torch.Tensor, *, seed: int = 0) -> DigitsScore:
    """Score generated images uint8 (N, C, H, W), N >= 2 (any size/channels: mapped to 28x28 greyscale).

    Reference sets use min(N, 2000) real digits each, so the FD and its floor share one sample size.
    """
    if fake.shape[0] < 2:
        raise ValueError("the digits score needs at least 2 generated images")
    n_ref = min(fake.shape[0], MAX_REFERENCE)
    probs, feats = classify(fake)
    real_probs, real_a, real_b = _real_reference(n_ref, seed)
    counts = torch.bincount(probs.argmax(1), minlength=10).float()
    return DigitsScore(
        n=int(fake.shape[0]), coverage=coverage(probs), class_shares=(counts / counts.sum()).tolist(),
        confident_share=float((probs.max(1).values >= CONFIDENT).float().mean()),
        classifier_score=classifier_score(probs), fd=frechet_distance(feats, real_a),
        fd_floor=frechet_distance(real_b, real_a), real_classifier_score=classifier_score(real_probs),
        real_confident_share=float((real_probs.max(1).values >= CONFIDENT).float().mean()))


def samples_coverage(samples: torch.Tensor) -> int | None:
    """Cheap mode-collapse signal for a training grid: coverage of uint8 samples (N, C, H, W); None if the
    classifier cannot be loaded (the run goes on without it)."""
    try:
        probs, _ = classify(samples)
    except (FileNotFoundError, RuntimeError, ValueError):
        return None
    return coverage(probs)
