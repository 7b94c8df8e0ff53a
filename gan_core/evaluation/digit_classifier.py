"""A tiny CNN that reads 28x28 greyscale digits: the offline judge behind the digits score.

It is trained by scripts/train_digit_classifier.py on the built-in digits' *held-out* split (1,000 digits no GAN
ever trains on) and shipped as gan_core/evaluation/weights/digit_classifier.safetensors (about 250 KB). `features()` gives
the 64-d penultimate activations used for the Fréchet distance; `forward()` gives the 10 class logits.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_core.data.datasets import fit_tensor

WEIGHTS = Path(__file__).resolve().parent / "weights" / "digit_classifier.safetensors"
FEATURES = 64


class DigitClassifier(nn.Module):
    """(B, 1, 28, 28) floats in [0, 1] -> (B, 10) logits."""

    def __init__(self, width: int = 16, features: int = FEATURES) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),              # (B, w, 14, 14)
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),      # (B, 2w, 7, 7)
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(), nn.MaxPool2d(2),  # (B, 4w, 3, 3)
            nn.Flatten(), nn.Linear(4 * w * 9, features), nn.ReLU())                                  # (B, features)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(x)))


def prepare(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) of any size/channels -> float (N, 1, 28, 28) in [0, 1] (luma, resize, centre crop)."""
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError("images must be a uint8 tensor (N, C, H, W)")
    return fit_tensor(images.cpu(), image_size=28, channels=1).float() / 255.0


@functools.lru_cache(maxsize=1)
def load_digit_classifier() -> DigitClassifier:
    """The shipped classifier in eval mode on the CPU (cached; read-only: never train the returned module)."""
    from safetensors.torch import load_file

    if not WEIGHTS.is_file():
        raise FileNotFoundError(f"the digit classifier's weights are missing ({WEIGHTS}); run "
                                "python scripts/train_digit_classifier.py")
    model = DigitClassifier()
    model.load_state_dict(load_file(str(WEIGHTS)), strict=True)
    return model.eval().requires_grad_(False)


@torch.inference_mode()
def classify(images: torch.Tensor, *, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, C, H, W) -> (class probabilities (N, 10), penultimate features (N, 64)), float32 CPU."""
    model = load_digit_classifier()
    probs, feats = [], []
    for chunk in images.split(batch_size):
        f = model.features(prepare(chunk))
        feats.append(f)
        probs.append(F.softmax(model.head(f), dim=1))
    if not feats:
        return torch.empty(0, 10), torch.empty(0, FEATURES)
    return torch.cat(probs), torch.cat(feats)
