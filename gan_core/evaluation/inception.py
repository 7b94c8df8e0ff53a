"""FID, KID and Inception Score through torchmetrics, with the Inception weights fetched once, safely.

One Inception-v3 (torchmetrics' `NoTrainInceptionV3`, the torch-fidelity port of the TF FID network) runs once
per image and yields both the 2048-d pool features (FID, KID) and the 1008 unbiased logits (IS); the metric maths
is torchmetrics' FrechetInceptionDistance / KernelInceptionDistance / InceptionScore fed those features.
Weights (91 MB) are downloaded on first use into torch's hub cache with a progress callback, a timeout and a
SHA-256 check, then loaded with `torch.load(weights_only=True)` (no pickle code runs). Offline (no cached file
and HF_HUB_OFFLINE / DCGAN_STUDIO_OFFLINE set, or the download fails) -> `MetricUnavailable` with one line.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn as nn

from gan_core.checkpoints.hub_checks import offline

INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
INCEPTION_SHA256_PREFIX = "6726825d"          # torch hub convention: the file name carries the hash prefix
INCEPTION_METRICS = ("fid", "kid", "is")
TIMEOUT_S = 20.0
Progress = Callable[[str, int, int], None]    # (stage, done, total)


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed here (e.g. offline without cached weights); the message is one line."""


def inception_weights_file() -> Path:
    """Where torch (and torch-fidelity) look for the FID Inception weights: <torch hub dir>/checkpoints/."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urllib.parse.urlparse(INCEPTION_URL).path).name


def inception_available() -> bool:
    return inception_weights_file().is_file()


def _resolves(host: str, timeout: float) -> bool:
    """DNS lookup with a deadline (getaddrinfo ignores socket timeouts, and can hang on a dead network)."""
    done: list[bool] = []

    def look() -> None:
        try:
            socket.getaddrinfo(host, 443)
            done.append(True)
        except OSError:
            done.append(False)

    t = threading.Thread(target=look, daemon=True)
    t.start()
    t.join(timeout)
    return bool(done and done[0])


def ensure_inception_weights(progress: Progress | None = None, *, timeout: float = TIMEOUT_S) -> Path:
    """The cached weights file, downloading it first if needed. Raises MetricUnavailable, never hangs."""
    target = inception_weights_file()
    if target.is_file():
        return target
    why = "FID/KID/IS need the Inception-v3 weights (91 MB, downloaded once)"
    if offline():
        raise MetricUnavailable(f"{why}, but they are not cached in {target.parent} and offline mode is on "
                                "(HF_HUB_OFFLINE/DCGAN_STUDIO_OFFLINE); the digits score works offline")
    url = os.environ.get("DCGAN_STUDIO_INCEPTION_URL", INCEPTION_URL)  # override: a mirror, or tests
    host = urllib.parse.urlparse(url).hostname or ""
    if not _resolves(host, timeout=min(timeout, 10.0)):
        raise MetricUnavailable(f"{why}, but {host} cannot be reached (no network?); the digits score works "
                                f"offline, and online the file is cached in {target.parent}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as f:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while chunk := resp.read(1 << 20):
                f.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if progress:
                    progress("downloading Inception weights", done, total)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise MetricUnavailable(f"{why}, but the download failed ({reason}: no network?); the digits score "
                                "works offline") from None
    if not sha.hexdigest().startswith(INCEPTION_SHA256_PREFIX) and url == INCEPTION_URL:
        tmp.unlink(missing_ok=True)
        raise MetricUnavailable(f"{why}, but the downloaded file failed its SHA-256 check; try again")
    os.replace(tmp, target)
    return target


@contextlib.contextmanager
def _weights_only_loads() -> Iterator[None]:
    """torch-fidelity loads the cached file with full unpickling (weights_only off); torch's documented switch
    TORCH_FORCE_WEIGHTS_ONLY_LOAD makes that load tensors only (no pickle code runs)."""
    old = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = old


@functools.lru_cache(maxsize=2)
def _inception(device: str) -> nn.Module:
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
        with _weights_only_loads():
            net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048", "logits_unbiased"])
    except ModuleNotFoundError:
        raise MetricUnavailable("FID/KID/IS need torch-fidelity: pip install torch-fidelity") from None
    except Exception as exc:  # a truncated or foreign cached file
        raise MetricUnavailable(f"the cached Inception weights in {inception_weights_file()} could not be "
                                f"loaded ({type(exc).__name__}); delete the file to download it again") from None
    return net.to(device).eval()


def inception_model(device: str | torch.device = "cpu", progress: Progress | None = None) -> nn.Module:
    """The shared feature network (downloads the weights on first use)."""
    ensure_inception_weights(progress)
    return _inception(str(device))


@torch.inference_mode()
def inception_features(images: torch.Tensor, *, device: str | torch.device = "cpu", batch_size: int = 64,
                       progress: Progress | None = None, stage: str = "Inception features"
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, C, H, W) -> (pool features (N, 2048), unbiased logits (N, 1008)), float64 on the CPU.

    Greyscale is repeated to 3 channels; the network itself resizes to 299x299 (bilinear, antialiased).
    """
    net = inception_model(device, progress)
    pools, logits = [], []
    n = images.shape[0]
    for start in range(0, n, batch_size):
        x = images[start:start + batch_size]
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x               # (B, 3, H, W) uint8
        pool, logit = net._torch_fidelity_forward(x.to(device))
        pools.append(pool.double().cpu())
        logits.append(logit.double().cpu())
        if progress:
            progress(stage, min(start + batch_size, n), n)
    return torch.cat(pools), torch.cat(logits)


class _Given(nn.Module):
    """Identity 'feature extractor': the shared Inception already computed the features (num_features for FID)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def scores_from_features(real_pool: torch.Tensor | None, fake_pool: torch.Tensor, fake_logits: torch.Tensor, *,
                         metrics: Sequence[str] = INCEPTION_METRICS, seed: int = 0) -> dict[str, float]:
    """torchmetrics FID / KID (mean, std) / IS (mean, std) from Inception features. KID and IS draw random
    subsets/splits: seeded here, without touching the global RNG."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    out: dict[str, float] = {}
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics' note that KID/IS keep features in memory
        torch.manual_seed(seed)
        if "fid" in metrics and real_pool is not None:
            fid = FrechetInceptionDistance(feature=_Given(real_pool.shape[1]))
            fid.update(real_pool, real=True)
            fid.update(fake_pool, real=False)
            out["fid"] = float(fid.compute())
        if "kid" in metrics and real_pool is not None:
            size = min(1000, real_pool.shape[0], fake_pool.shape[0])
            kid = KernelInceptionDistance(feature=_Given(real_pool.shape[1]), subsets=50, subset_size=size)
            kid.update(real_pool, real=True)
            kid.update(fake_pool, real=False)
            mean, std = kid.compute()
            out["kid_mean"], out["kid_std"] = float(mean), float(std)
        if "is" in metrics:
            splits = max(1, min(10, fake_logits.shape[0] // 2))
            iscore = InceptionScore(feature=_Given(fake_logits.shape[1]), splits=splits)
            iscore.update(fake_logits)
            mean, std = iscore.compute()
            out["is_mean"], out["is_std"] = float(mean), float(std) if splits > 1 else 0.0
    return out
