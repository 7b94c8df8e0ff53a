"""Run configuration: the frozen dataclasses whose fields are the CLI flags and the UI's controls.

`ModelConfig` says what network to build (it is what a checkpoint's config.json holds); `TrainConfig` says how
to train it. Both validate themselves with messages a person can act on, and `preset_defaults()` gives each
architecture preset's published defaults so the CLI and the UI apply them the same way.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gan_core.errors import UserError

PRESETS = ("dcgan", "roadsign", "improved", "upsample")
IMAGE_SIZES = (16, 28, 32, 64, 128)
DEVICES = ("auto", "cpu", "cuda", "mps")
BUILTIN_DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
LOSSES = ("bce", "hinge", "ls")
AUGMENT_OPS = ("translation", "cutout", "color")   # DiffAugment's ops; `augment` is off, ada, or a comma list


class ConfigError(UserError):
    """A configuration value is out of bounds; the message names the field and the allowed range."""


def _check_range(name: str, value: Any, lo: float, hi: float, *, kind: type = int, open_lo: bool = False) -> None:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if value != value:  # NaN
        raise ConfigError(f"{name} must be a number, got NaN")
    low_ok = value > lo if open_lo else value >= lo
    if not (low_ok and value <= hi):
        bracket = "(" if open_lo else "["
        raise ConfigError(f"{name} must be in {bracket}{lo:g}, {hi:g}], got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """What network to build. Saved as a checkpoint's config.json, so every field is JSON-plain."""

    preset: str = "dcgan"
    image_size: int = 28
    channels: int = 1
    z_dim: int = 100
    g_width: int = 32
    d_width: int = 32
    # 3x3 conv + BatchNorm + ReLU blocks in G at its first feature map (7x7 at 28 px; dcgan/roadsign bodies). 0 is
    # Radford et al.'s G, and what a config.json without the key (older checkpoints, imported formats) means.
    g_refine: int = 0

    def validate(self) -> "ModelConfig":
        if self.preset not in PRESETS:
            raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if self.image_size not in IMAGE_SIZES:
            raise ConfigError(
                f"image_size must be one of {', '.join(map(str, IMAGE_SIZES))}, got {self.image_size!r}")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 (greyscale) or 3 (colour), got {self.channels!r}")
        _check_range("z_dim", self.z_dim, 2, 1024)
        _check_range("g_width", self.g_width, 4, 1024)
        _check_range("d_width", self.d_width, 4, 1024)
        _check_range("g_refine", self.g_refine, 0, 4)
        if self.g_refine and self.preset not in ("dcgan", "roadsign"):
            raise ConfigError(f"g_refine (extra 3x3 blocks in G) works with the dcgan and roadsign presets only; "
                              f"use 0 with {self.preset}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Build from a config.json mapping: known keys only, every value bounded before anything is allocated."""
        if not isinstance(data, dict):
            raise ConfigError("config.json must hold a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = [n for n in ("image_size", "channels", "z_dim") if n not in data]
        if missing:
            raise ConfigError(f"config.json is missing {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in names}).validate()


@dataclass(frozen=True)
class TrainConfig:
    """How to train: data, optimiser, schedule, device. `max_steps=0` means train for `epochs` epochs."""

    dataset: str = "digits"
    epochs: int = 5
    max_steps: int = 0
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    g_steps: int = 1
    d_steps: int = 1
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "auto"
    hflip: bool = False
    sample_every: int = 50
    metrics_every: int = 10
    amp: bool = True
    compile: bool = False
    # The small-data recipe (training/losses.py, training/augment.py; EMA and spectral norm in trainer.py).
    loss: str = "bce"
    augment: str = "off"
    ema_decay: float = 0.999     # chosen by bench/quality.py (BENCHMARKS.md "Quality"); 0 = off
    spectral_norm: bool = False
    ada_target: float = 0.6

    def augment_ops(self) -> tuple[str, ...]:
        """The augmentation ops to run: () when off; ada adapts p over translation and cutout (+ color on RGB,
        decided by the trainer, which knows the channels)."""
        mode = self.augment.strip().lower()
        if mode in ("off", ""):
            return ()
        if mode == "ada":
            return ("translation", "cutout", "color")
        return tuple(dict.fromkeys(op.strip() for op in mode.split(",")))
    sync_bn: bool = False  # DDP runs only (torchrun): BatchNorm statistics over the global batch

    def validate(self) -> "TrainConfig":
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError("dataset must be a name (digits, mnist, fashion-mnist, cifar10) or a folder/zip path")
        _check_range("epochs", self.epochs, 1, 100_000)
        _check_range("max_steps", self.max_steps, 0, 100_000_000)
        _check_range("batch_size", self.batch_size, 1, 4096)
        _check_range("lr_g", self.lr_g, 0, 1, kind=float, open_lo=True)
        _check_range("lr_d", self.lr_d, 0, 1, kind=float, open_lo=True)
        _check_range("beta1", self.beta1, 0, 0.999, kind=float)
        _check_range("beta2", self.beta2, 0, 0.9999, kind=float)
        _check_range("g_steps", self.g_steps, 1, 10)
        _check_range("d_steps", self.d_steps, 1, 10)
        _check_range("label_smoothing", self.label_smoothing, 0, 0.5, kind=float)
        _check_range("seed", self.seed, 0, 2**63 - 1)
        _check_range("sample_every", self.sample_every, 1, 1_000_000)
        _check_range("metrics_every", self.metrics_every, 1, 10_000)
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if not isinstance(self.augment, str) or (self.augment.strip().lower() not in ("off", "ada") and (
                not self.augment.strip() or any(op.strip() not in AUGMENT_OPS for op in self.augment.split(",")))):
            raise ConfigError(f"augment must be off, ada, or a comma list of {', '.join(AUGMENT_OPS)} "
                              f"(e.g. translation,cutout), got {self.augment!r}")
        try:  # 0 = off; decay d averages the last ~1 / (1 - d) steps (0.999: ~1,000)
            _check_range("ema_decay", self.ema_decay, 0, 0.9999, kind=float)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (0 = off, e.g. 0.999)") from None
        _check_range("ada_target", self.ada_target, 0, 1, kind=float, open_lo=True)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names}).validate()


# The field names, in declaration order: the one list of settings (model card rows, Train widget keys, the
# Evaluate compare table). A new field shows up in all of them.
MODEL_KEYS = tuple(f.name for f in dataclasses.fields(ModelConfig))
TRAIN_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig))


@dataclass(frozen=True)
class PresetDefaults:
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


_PRESET_DEFAULTS = {
    # Radford et al. 2015 architecture; widths sized for an interactive CPU run on digits. The optimiser is not the
    # paper's (lr 2e-4, beta1 0.5): with the generator EMA (TrainConfig.ema_decay), lr 1e-3 and Adam betas
    # (0.0, 0.99) gave the best 20-epoch digits run (BENCHMARKS.md "Quality": digits FD 32.8 -> 15.5, confident
    # 0.11 -> 0.31, medians of 3 seeds); 2e-4 with beta1 0.5 stays the safer choice for large images. One 3x3
    # refine block in G (g_refine=1) takes that run on to FD 11.8 and confident 0.37, every digit at 5.8-14.9 % of
    # the samples, for 1.09x the wall time at 2 threads (BENCHMARKS.md "Quality"; 0 gives Radford et al.'s G).
    "dcgan": PresetDefaults(
        model=dict(z_dim=100, g_width=32, d_width=32, g_refine=1),
        train=dict(lr_g=1e-3, lr_d=1e-3, beta1=0.0, beta2=0.99, g_steps=1, d_steps=1, batch_size=64),
        summary="Radford et al.: transposed convs + BatchNorm/ReLU, strided-conv D with LeakyReLU(0.2)."),
    # Road-sign GAN: z=32 through a Linear stem, 32x32 RGB, Adam lr 1e-3.
    "roadsign": PresetDefaults(
        model=dict(z_dim=32, g_width=64, d_width=64, image_size=32, channels=3, g_refine=0),
        train=dict(lr_g=1e-3, lr_d=1e-3, beta1=0.5, g_steps=1, d_steps=1, batch_size=64),
        summary="Road-sign GAN: Linear(z->512) stem, DCGAN body, 32x32 RGB, Adam lr 1e-3."),
    # Anime-faces improved DCGAN: G lr = 2 x D lr, two G steps per D step, dropout + GAP discriminator.
    "improved": PresetDefaults(
        model=dict(z_dim=128, g_width=64, d_width=64, g_refine=0),
        train=dict(lr_g=4e-4, lr_d=2e-4, beta1=0.5, g_steps=2, d_steps=1, batch_size=64),
        summary="Improved DCGAN: dense stem, dropout + global-average-pooling D, lr_G = 2 x lr_D, 2 G steps per D."),
    # Rembrandt/Picasso: Upsample+Conv generator, z=128, 64x64 RGB, batch 64, widths 64.
    "upsample": PresetDefaults(
        model=dict(z_dim=128, g_width=64, d_width=64, image_size=64, channels=3, g_refine=0),
        train=dict(lr_g=2e-4, lr_d=2e-4, beta1=0.5, g_steps=1, d_steps=1, batch_size=64),
        summary="Upsample+Conv generator (no checkerboard), D with dropout; z=128, 64x64 RGB."),
}


def preset_defaults(preset: str) -> PresetDefaults:
    """The published defaults of an architecture preset (model fields and training fields to apply)."""
    if preset not in _PRESET_DEFAULTS:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    return _PRESET_DEFAULTS[preset]


def with_preset(preset: str, *, model: dict[str, Any] | None = None,
                train: dict[str, Any] | None = None) -> tuple[ModelConfig, TrainConfig]:
    """Configs for `preset` with its defaults applied, then the caller's explicit overrides on top."""
    d = preset_defaults(preset)
    m = ModelConfig(preset=preset, **{**d.model, **(model or {})}).validate()
    t = TrainConfig(**{**d.train, **(train or {})}).validate()
    return m, t
