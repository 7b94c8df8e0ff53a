"""GAN losses as functions of D's logits, and what the live chart's "D(x)" / "D(G(z))" mean under each.

All three take raw logits l = D(.) (float32 inside: under bf16 autocast the logits arrive in bf16 and the
reductions must not be) and return scalar losses to minimise:
- bce   (non-saturating, Goodfellow et al. 2014 / DCGAN):  D: softplus(-l_r) + softplus(l_f)   [= BCE(l_r, 1) +
        BCE(l_f, 0)], G: softplus(-l_f) [= BCE(l_f, 1)]. With label smoothing s the real target is 1 - s.
- hinge (Lim & Ye 2017; SAGAN, BigGAN):  D: relu(1 - l_r) + relu(1 + l_f),  G: -l_f.
- ls    (least squares, Mao et al. 2017, a=0 b=c=1):  D: 1/2 (l_r - t)^2 + 1/2 l_f^2 with t = 1 - s,
        G: 1/2 (l_f - 1)^2.
Each term is a mean over the batch. The chart always plots sigmoid(l) averaged over the batch: under bce it is
D's probability that an image is real; under hinge and ls it is a squashed score (higher = "more real"; the
equilibrium is still l = 0, i.e. 0.5 for hinge; ls pulls real logits towards 1, i.e. 0.73).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_core.config import LOSSES

CHART_NOTE = {
    "bce": "D(x), D(G(z)): D's mean probability that the images are real (sigmoid of its logit).",
    "hinge": "Hinge loss: D outputs a score, not a probability; the curves show sigmoid(score) (0.5 = score 0, "
             "D undecided; D's targets are scores beyond +1 for real and -1 for fake, i.e. 0.73 / 0.27).",
    "ls": "Least-squares loss: D's score is pulled towards 1 for real and 0 for fake; the curves show "
          "sigmoid(score), so those targets read 0.73 and 0.5.",
}


def _check(kind: str) -> None:
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {kind!r}")


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor, *, real_target: float = 1.0
           ) -> torch.Tensor:
    """Discriminator loss (scalar, float32) from logits (B,) of real and generated images."""
    _check(kind)
    r, f = real_logits.float(), fake_logits.float()
    if kind == "bce":
        return (F.binary_cross_entropy_with_logits(r, torch.full_like(r, real_target))
                + F.softplus(f).mean())                             # BCE(l, 0) = log(1 + e^l) = softplus(l)
    if kind == "hinge":
        return F.relu(1 - r).mean() + F.relu(1 + f).mean()
    return 0.5 * (r - real_target).square().mean() + 0.5 * f.square().mean()


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss (scalar, float32) from D's logits (B,) on generated images."""
    _check(kind)
    f = fake_logits.float()
    if kind == "bce":
        return F.softplus(-f).mean()                                # BCE(l, 1) = log(1 + e^-l)
    if kind == "hinge":
        return -f.mean()
    return 0.5 * (f - 1).square().mean()


def chart_probability(logits: torch.Tensor) -> torch.Tensor:
    """What the live chart plots for a batch: mean sigmoid(logit), float32, on the device (no host sync)."""
    return torch.sigmoid(logits.detach().float()).mean()
