"""Inference only: latent vectors or seeds -> uint8 images, with the generator in eval mode.

Batched and deterministic: a generator in eval mode maps each z independently (BatchNorm uses running
statistics), so an image depends only on its z, never on what else is in the batch.
"""
from __future__ import annotations

from typing import Sequence

import torch

from gan_core.latent import z_from_seeds
from gan_core.models import Generator
from gan_core.training.trainer import to_uint8


@torch.inference_mode()
def images_from_z(generator: Generator, z: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """z (N, z_dim) -> uint8 (N, C, H, W) on the CPU."""
    generator.eval()
    device = next(generator.parameters()).device
    out = [to_uint8(generator(chunk.to(device, torch.float32))) for chunk in z.split(batch_size)]
    c, s = generator.config.channels, generator.config.image_size
    return torch.cat(out) if out else torch.empty(0, c, s, s, dtype=torch.uint8)


def images_from_seeds(generator: Generator, seeds: Sequence[int], *, psi: float = 1.0) -> torch.Tensor:
    """One image per seed: uint8 (len(seeds), C, H, W)."""
    return images_from_z(generator, z_from_seeds(list(seeds), generator.config.z_dim) * psi)


def parse_seeds(text: str) -> list[int]:
    """'1,2,5-8' -> [1, 2, 5, 6, 7, 8]. Raises ValueError with the offending part."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else (part, "")
                a, b = int(lo), int(hi)
                if b < a or b - a > 10_000:
                    raise ValueError
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(f"cannot read seeds {part!r}: use numbers like 1,2,5-8") from None
    if any(s < 0 or s > 2**31 - 1 for s in seeds):
        raise ValueError("seeds must be between 0 and 2147483647")
    return seeds
