"""DCGAN Studio's engine: configs, models, data, training, checkpoints, evaluation, latent maths, export, CLI.

It imports torch, torchvision, huggingface_hub, safetensors, numpy and Pillow only (never streamlit or plotly),
so it runs alone on a GPU machine. Packages by concern: `training/`, `data/`, `checkpoints/`, `evaluation/`,
`cli/`; pure modules at the top: `config`, `models`, `latent`, `sampling`, `export`.

The names a library user needs are importable from here. They load on first use (PEP 562), so
`import gan_core.config` (torch-free) stays cheap for the app's first paint.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "ModelConfig": "gan_core.config", "TrainConfig": "gan_core.config", "ConfigError": "gan_core.config",
    "with_preset": "gan_core.config",
    "Generator": "gan_core.models", "Discriminator": "gan_core.models",
    "Trainer": "gan_core.training.trainer", "Run": "gan_core.training.run",
    "load_generator": "gan_core.checkpoints.store", "save_checkpoint": "gan_core.checkpoints.store",
    "load_images": "gan_core.data.datasets",
    "images_from_seeds": "gan_core.sampling", "keyframe_path": "gan_core.latent",
    "evaluate": "gan_core.evaluation.evaluate",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gan_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
