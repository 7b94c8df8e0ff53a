"""Latent-space maths, pure functions: seeded z, lerp, slerp, keyframe paths.

A seed always gives the same z: `torch.Generator().manual_seed(seed)` on the CPU, then `randn(z_dim)`, so the
UI, the CLI and the Python API agree on every machine. Paths through keyframes z_0 -> z_1 -> ... contain each
keyframe exactly, so interpolation endpoints equal the keyframe seeds' images.
"""
from __future__ import annotations

from typing import Sequence

import torch

MAX_SEED = 2**31 - 1


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """(z_dim,) float32 ~ N(0, I), determined by `seed` alone."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be in [0, {MAX_SEED}], got {seed}")
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def z_from_seeds(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    """(len(seeds), z_dim)."""
    return torch.stack([z_from_seed(s, z_dim) for s in seeds]) if seeds else torch.empty(0, z_dim)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(1 - t) a + t b for each t: a, b (D,), t (K,) -> (K, D)."""
    t = t.view(-1, 1).to(a.dtype)
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor, *, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the great circle, with the norm interpolated linearly.

    With omega = angle(a, b): direction(t) = [sin((1-t) omega) a^ + sin(t omega) b^] / sin(omega); the result is
    direction(t) * ((1-t)|a| + t|b|). Keyframes of equal norm keep that norm all the way. Falls back to lerp
    of the directions when a and b are (anti)parallel, where the great circle is not unique.
    """
    t = t.view(-1, 1).to(a.dtype)
    na, nb = a.norm(), b.norm()
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    cos = (ua * ub).sum().clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    so = torch.sin(omega)
    if so.abs() < 1e-4:
        direction = (1 - t) * ua + t * ub
        direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(eps)
    else:
        direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / so
    out = direction * ((1 - t) * na + t * nb)
    out[t.view(-1) == 0] = a      # endpoints exact, not just close
    out[t.view(-1) == 1] = b
    return out


def keyframe_path(keyframes: torch.Tensor, steps: int, *, mode: str = "slerp", pingpong: bool = False) -> torch.Tensor:
    """Path through keyframes (K, D) with `steps` frames per segment, endpoints included.

    Shape: ((K - 1) * (steps - 1) + 1, D); ping-pong appends the path backwards without repeating the ends.
    """
    if keyframes.ndim != 2 or keyframes.shape[0] < 2:
        raise ValueError("interpolation needs at least two keyframes")
    if steps < 2:
        raise ValueError("steps must be at least 2 (the two endpoints)")
    if mode not in ("lerp", "slerp"):
        raise ValueError(f"mode must be lerp or slerp, got {mode!r}")
    fn = slerp if mode == "slerp" else lerp
    t = torch.linspace(0, 1, steps)
    segments = [fn(keyframes[i], keyframes[i + 1], t)[(1 if i else 0):] for i in range(keyframes.shape[0] - 1)]
    path = torch.cat(segments)
    if pingpong and path.shape[0] > 2:
        path = torch.cat([path, path.flip(0)[1:-1]])
    return path
