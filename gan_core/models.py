"""Generator and Discriminator for every preset, built from a `ModelConfig` alone.

Each preset grows from a base grid `s0` (4x4, or 7x7 for 28 px) by doublings to `image_size`:
16 = 4*2^2, 28 = 7*2^2, 32 = 4*2^3, 64 = 4*2^4, 128 = 4*2^5. Modules hold weights only: optimisers and the
training step live in trainer.py, sampling in sampling.py. D returns logits (use BCE-with-logits), so the
networks are safe under bf16 autocast. Both classes carry `PyTorchModelHubMixin`, so a checkpoint folder
(config.json + model.safetensors) loads with `Generator.from_pretrained(path_or_repo_id)`.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from gan_core.config import ConfigError, ModelConfig

# A generator bigger than this is refused before any weight is allocated (a 128 px dcgan at width 128 is ~50M).
MAX_PARAMETERS = 200_000_000


def base_size(image_size: int) -> int:
    """Side of the first feature map: 7 for 28 px (MNIST-style), else 4."""
    return 7 if image_size % 7 == 0 else 4


def num_doublings(image_size: int) -> int:
    return int(round(math.log2(image_size / base_size(image_size))))


def _as_config(config: ModelConfig | dict[str, Any] | None, kwargs: dict[str, Any]) -> ModelConfig:
    if isinstance(config, ModelConfig):
        return config.validate()
    return ModelConfig.from_dict({**(config or {}), **kwargs})


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.: conv weights ~ N(0, 0.02); BatchNorm gamma ~ N(1, 0.02), beta = 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _up_block(c_in: int, c_out: int) -> list[nn.Module]:
    # ConvT(k4, s2, p1) doubles the side: out = (in - 1) * 2 - 2 + 4 = 2 * in.
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]


def _down_block(c_in: int, c_out: int, *, bn: bool, dropout: float = 0.0) -> list[nn.Module]:
    # Conv(k4, s2, p1) halves the side.
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    if dropout:
        layers.append(nn.Dropout(dropout))
    return layers


def _build_generator(cfg: ModelConfig) -> tuple[nn.Module | None, nn.Sequential]:
    """(stem, body). The stem maps z (B, z_dim) to a flat vector when the preset has a dense layer."""
    s0, n, w, c = base_size(cfg.image_size), num_doublings(cfg.image_size), cfg.g_width, cfg.channels
    top = w * 2 ** (n - 1)  # channels at s0: w * 2^(n-1), halving per doubling down to w.
    if cfg.preset in ("dcgan", "roadsign"):
        stem, c_z = None, cfg.z_dim
        layers: list[nn.Module] = []
        if cfg.preset == "roadsign":
            # z -> Linear(z, 2*top) -> view (2*top, 1, 1); for z=32, width 64, 32 px: Linear(32 -> 512).
            stem, c_z = nn.Linear(cfg.z_dim, 2 * top), 2 * top
        layers += [nn.ConvTranspose2d(c_z, top, s0, 1, 0, bias=False), nn.BatchNorm2d(top), nn.ReLU(True)]
        for _ in range(cfg.g_refine):   # depth where it is cheapest: top * top * 9 MACs per pixel of an s0 x s0 map
            layers += [nn.Conv2d(top, top, 3, 1, 1, bias=False), nn.BatchNorm2d(top), nn.ReLU(True)]
        ch = top                                                        # (B, top, s0, s0)
        for _ in range(n - 1):
            layers += _up_block(ch, ch // 2)
            ch //= 2                                                    # side doubles, channels halve
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1, bias=False), nn.Tanh()]  # (B, C, size, size)
        return stem, nn.Sequential(*layers)
    if cfg.preset == "improved":
        # Dense(z -> (size/4)^2 * 2w) -> BN/ReLU -> view (2w, size/4, size/4) -> two x2 ConvT -> Conv5 -> Tanh.
        q = cfg.image_size // 4
        stem = nn.Sequential(nn.Linear(cfg.z_dim, q * q * 2 * w, bias=False), nn.BatchNorm1d(q * q * 2 * w),
                             nn.ReLU(True))
        body = nn.Sequential(*_up_block(2 * w, 2 * w), *_up_block(2 * w, w),
                             nn.Conv2d(w, c, 5, 1, 2), nn.Tanh())
        return stem, body
    # upsample: ConvT(z -> top, s0) then [Upsample x2 -> Conv3 -> BN -> ReLU] per doubling; no checkerboard.
    layers = [nn.ConvTranspose2d(cfg.z_dim, top, s0, 1, 0, bias=False), nn.BatchNorm2d(top), nn.ReLU(True)]
    ch = top
    for i in range(n):
        out = max(ch // 2, w) if i < n - 1 else w
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, out, 3, 1, 1, bias=False),
                   nn.BatchNorm2d(out), nn.ReLU(True)]
        ch = out
    layers += [nn.Conv2d(ch, c, 3, 1, 1), nn.Tanh()]
    return None, nn.Sequential(*layers)


def _build_discriminator(cfg: ModelConfig) -> nn.Sequential:
    s0, n, w, c = base_size(cfg.image_size), num_doublings(cfg.image_size), cfg.d_width, cfg.channels
    if cfg.preset == "improved":
        # conv+LReLU, conv+LReLU+Dropout(0.25), conv+LReLU, global average pool, Dense(256)+LReLU+Dropout, Dense(1).
        return nn.Sequential(
            *_down_block(c, w, bn=False), *_down_block(w, 2 * w, bn=False, dropout=0.25),
            *_down_block(2 * w, 2 * w, bn=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(2 * w, 256), nn.LeakyReLU(0.2, inplace=True), nn.Dropout(0.25), nn.Linear(256, 1))
    dropout = 0.3 if cfg.preset == "upsample" else 0.0
    layers = _down_block(c, w, bn=False)                                # no BN on D's first layer
    ch = w
    for i in range(n - 1):
        layers += _down_block(ch, ch * 2, bn=True, dropout=dropout if i % 2 == 0 else 0.0)
        ch *= 2                                                         # (B, w * 2^(i+1), side/2^(i+2))
    layers += [nn.Conv2d(ch, 1, s0, 1, 0, bias=False), nn.Flatten()]  # (B, 1) logits
    return nn.Sequential(*layers)


class Generator(nn.Module, PyTorchModelHubMixin, library_name="dcgan-studio", tags=["dcgan", "gan"]):
    """z (B, z_dim) -> images (B, C, size, size) in [-1, 1]."""

    def __init__(self, config: ModelConfig | dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = _as_config(config, kwargs)
        self.stem, self.body = _build_generator(self.config)
        self._s0 = self.config.image_size // 4 if self.config.preset == "improved" else 1
        self.apply(dcgan_init)

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z.flatten(1)                                              # (B, z_dim)
        if self.stem is not None:
            x = self.stem(x)
        return self.body(x.view(x.shape[0], -1, self._s0, self._s0))


class Discriminator(nn.Module, PyTorchModelHubMixin, library_name="dcgan-studio", tags=["dcgan", "gan"]):
    """images (B, C, size, size) -> logits (B,); sigmoid(logit) is the probability the image is real."""

    def __init__(self, config: ModelConfig | dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = _as_config(config, kwargs)
        self.net = _build_discriminator(self.config)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


def count_parameters(cfg: ModelConfig) -> int:
    """Generator + discriminator parameters, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        g, d = Generator(cfg), Discriminator(cfg)
    return sum(p.numel() for p in g.parameters()) + sum(p.numel() for p in d.parameters())


def check_size(cfg: ModelConfig) -> int:
    n = count_parameters(cfg)
    if n > MAX_PARAMETERS:
        raise ConfigError(
            f"this model would have {n / 1e6:.0f}M parameters (limit {MAX_PARAMETERS // 1_000_000}M): "
            "lower g_width/d_width or image_size")
    return n
