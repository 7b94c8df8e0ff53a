"""Which device a run uses: `auto` resolved to CUDA, then MPS, then the CPU; how the device is named in the
first CLI line, the sidebar and the model card; and the training settings that suit it better than the presets'."""
from __future__ import annotations

import torch

from gan_core.config import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """auto -> cuda, then mps, then cpu. A forced device that is missing is a clear ConfigError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for but no CUDA GPU is visible; use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device mps was asked for but Apple's MPS is not available; use --device auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def device_defaults(device: torch.device) -> dict[str, int]:
    """TrainConfig fields that suit `device` better than the presets' CPU-sized defaults (callers let a value
    the user chose win). CUDA: batch 128, the DCGAN paper's size, keeps a GPU busy where 64 leaves it waiting on
    kernel launches. CPU and MPS: the presets' own values, sized so a digits run is interactive."""
    return {"batch_size": 128} if device.type == "cuda" else {}
