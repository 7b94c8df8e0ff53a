"""Differentiable augmentation of the images D sees (real and generated), DiffAugment- and ADA-style.

DiffAugment (Zhao et al., 2020): the same kind of random transform is applied to real images and to G's images
every time D looks at them (in the D step and in the G step), built from differentiable tensor ops, so G's
gradient flows back through the transform and G never learns to draw the augmentation. Ops (on (B, C, H, W) in
[-1, 1], each sample drawn independently):
- translation: shift by up to 1/8 of the side in x and y, the uncovered border filled with 0 (as DiffAugment);
- cutout: zero a square of half the side at a random centre (partly outside the image at the edges);
- color: brightness + U(-0.5, 0.5), saturation x U(0, 2) around the channel mean (a no-op on greyscale),
  contrast x U(0.5, 1.5) around the image mean.
Each op is applied to a sample with probability p: p = 1 for a fixed list (DiffAugment), adaptive for `ada`
(StyleGAN2-ADA, Karras et al., 2020): r_t = E[sign(D(x_real))] over the last ADA_INTERVAL steps; p moves up by
batch*interval/ADA_SPEED_IMAGES when r_t > target (D is too sure of the training images: overfitting), down when
below, clamped to [0, 1]. All of it stays on the device (no host sync). The random draws come from one seeded
torch.Generator whose state (and p) is part of the resume state, so a resumed run is bit-identical.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

ADA_INTERVAL = 4            # steps between p updates (StyleGAN2-ADA: every 4 minibatches)
ADA_SPEED_IMAGES = 20_000   # images over which p can move from 0 to 1 (ADA: 500k; our runs see ~80k in total)
TRANSLATE_RATIO = 0.125
CUTOUT_RATIO = 0.5


class Augmenter:
    """`aug(x)` -> augmented x (or x itself when there are no ops); `observe(real_logits)` drives ada's p."""

    def __init__(self, ops: tuple[str, ...], *, adaptive: bool = False, target: float = 0.6,
                 device: torch.device | str = "cpu", seed: int = 0) -> None:
        self.ops, self.adaptive, self.target = tuple(ops), adaptive, target
        self.device = torch.device(device)
        self.gen = torch.Generator(device=self.device).manual_seed(seed)
        # () on the device: 1 for a fixed list (always on, as DiffAugment), from 0 under ada, 0 when off
        self.p = torch.tensor(1.0 if self.ops and not adaptive else 0.0, device=self.device)
        self._sign_sum = torch.zeros((), device=self.device)                  # sum of sign(D(x_real)) this interval
        self._seen = 0       # real logits observed this interval (host int: no sync)
        self._calls = 0

    @property
    def enabled(self) -> bool:
        return bool(self.ops)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.ops:
            return x
        for op in self.ops:
            x = self._maybe(x, _OPS[op])
        return x

    def _maybe(self, x: torch.Tensor, op) -> torch.Tensor:
        """op(x) for the samples that draw u < p, x for the others (the draws are taken either way)."""
        b = x.shape[0]
        apply = torch.rand(b, device=x.device, generator=self.gen) < self.p     # (B,)
        y = op(x, self.gen)
        return torch.where(apply.view(b, 1, 1, 1), y, x)

    def observe(self, real_logits: torch.Tensor) -> None:
        """ada: accumulate sign(D(x_real)); every ADA_INTERVAL calls, step p towards r_t = target."""
        if not self.adaptive:
            return
        self._sign_sum += torch.sign(real_logits.detach().float()).sum()
        self._seen += real_logits.shape[0]
        self._calls += 1
        if self._calls % ADA_INTERVAL == 0:
            r_t = self._sign_sum / self._seen
            self.p.add_(torch.sign(r_t - self.target) * (self._seen / ADA_SPEED_IMAGES)).clamp_(0.0, 1.0)
            self._sign_sum.zero_()
            self._seen = 0

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, json) for the resume state."""
        return ({"aug.rng": self.gen.get_state(), "aug.p": self.p.detach().cpu().reshape(1),
                 "aug.sign_sum": self._sign_sum.detach().cpu().reshape(1)},
                {"seen": self._seen, "calls": self._calls})

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if "aug.rng" not in tensors:     # a checkpoint saved without augmentation: start fresh
            return
        if self.device.type == "cpu":   # as the trainer's noise generator: CUDA RNG states are not portable
            self.gen.set_state(tensors["aug.rng"])
        self.p.copy_(tensors["aug.p"].reshape(()))
        self._sign_sum.copy_(tensors["aug.sign_sum"].reshape(()))
        self._seen, self._calls = int(meta.get("seen", 0)), int(meta.get("calls", 0))


def translation(x: torch.Tensor, gen: torch.Generator, *, ratio: float = TRANSLATE_RATIO) -> torch.Tensor:
    """Shift each sample by integers (dy, dx) in [-r, r], r = round(ratio * side); zero fill. A gather, so the
    gradient reaches x (index backward scatters it back)."""
    b, _, h, w = x.shape
    rh, rw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-rh, rh + 1, (b, 1, 1), device=x.device, generator=gen)
    dx = torch.randint(-rw, rw + 1, (b, 1, 1), device=x.device, generator=gen)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + rh - dy             # (B, H, 1) in the padded map
    cols = torch.arange(w, device=x.device).view(1, 1, w) + rw - dx             # (B, 1, W)
    padded = F.pad(x, [rw, rw, rh, rh]).permute(0, 2, 3, 1)                     # (B, H+2rh, W+2rw, C)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)                        # (B, C, H, W), NHWC in memory


def cutout(x: torch.Tensor, gen: torch.Generator, *, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero a (s, s) square, s = round(ratio * side), centred at a uniform position (clipped at the edges)."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h, (b, 1, 1), device=x.device, generator=gen)
    cx = torch.randint(0, w, (b, 1, 1), device=x.device, generator=gen)
    ys = torch.arange(h, device=x.device).view(1, h, 1) - (cy - sh // 2)       # 0 <= ys < sh inside the square
    xs = torch.arange(w, device=x.device).view(1, 1, w) - (cx - sw // 2)
    inside = (ys >= 0) & (ys < sh) & (xs >= 0) & (xs < sw)                      # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Brightness, saturation and contrast jitter (DiffAugment's ranges); per sample."""
    b = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(b, 1, 1, 1, device=x.device, generator=gen, dtype=torch.float32).to(x.dtype) * (hi - lo) + lo

    x = x + u(-0.5, 0.5)
    m = x.mean(dim=1, keepdim=True)                                             # (B, 1, H, W)
    x = (x - m) * u(0.0, 2.0) + m
    m = x.mean(dim=(1, 2, 3), keepdim=True)                                     # (B, 1, 1, 1)
    return (x - m) * u(0.5, 1.5) + m


_OPS = {"translation": translation, "cutout": cutout, "color": color}


def make_augmenter(ops: tuple[str, ...], *, adaptive: bool, channels: int, target: float,
                   device: torch.device, seed: int) -> Augmenter:
    """The trainer's augmenter: ada on greyscale leaves color out (it is meant for RGB)."""
    if adaptive and channels == 1:
        ops = tuple(op for op in ops if op != "color")
    return Augmenter(ops, adaptive=adaptive, target=target, device=device, seed=seed)
