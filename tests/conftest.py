"""Shared fixtures: tiny seeded configs (widths 4-8, 16 px) and a tiny trained checkpoint, all on the CPU."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
torch.set_num_threads(min(2, torch.get_num_threads()))

from gan_core.config import ModelConfig, TrainConfig  # noqa: E402


@pytest.fixture(autouse=True)
def studio_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test writes app data under its own temp dir, never in the user's home."""
    home = tmp_path_factory.mktemp("studio_home")
    monkeypatch.setenv("DCGAN_STUDIO_HOME", str(home))
    return home


@pytest.fixture
def tiny_model() -> ModelConfig:
    return ModelConfig(preset="dcgan", image_size=16, channels=1, z_dim=8, g_width=4, d_width=4)


@pytest.fixture
def tiny_train() -> TrainConfig:
    return TrainConfig(dataset="digits", epochs=1, max_steps=3, batch_size=8, seed=0, device="cpu",
                       sample_every=2, metrics_every=1)


@pytest.fixture
def tiny_images() -> torch.Tensor:
    """64 built-in digits resized to 16 px: uint8 (64, 1, 16, 16)."""
    from gan_core.data.datasets import load_images

    return load_images("digits", image_size=16, channels=1).images[:64]


@pytest.fixture
def tiny_checkpoint(tmp_path, tiny_model, tiny_train, tiny_images) -> Path:
    """A 3-step trained checkpoint folder in Hub layout, with training state."""
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer

    run = Run(Trainer(tiny_model, tiny_train, images=tiny_images), dataset="digits", command="pytest tiny")
    while not run.done:
        run.advance()
    return run.save(tmp_path / "tiny")
