"""The training step: one `Trainer.step()` = d_steps discriminator updates, then g_steps generator updates.

(1) D: maximise log D(x) + log(1 - D(G(z)))  ==  minimise BCE(D(x), 1 - smoothing) + BCE(D(G(z)), 0)
(2) G: maximise log D(G(z)) against the *updated* D (non-saturating loss) == minimise BCE(D(G(z)), 1)
The Trainer owns the models' optimisers, the fixed noise, the seeded generators, AMP and optional compile.
It never prints and never loops: the caller (runloop.Run, the CLI, a background job) decides when to step.
Metrics stay on the device as a (5,) tensor per step; reading them (a host sync) is the caller's choice.
"""
from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan_core.training import cpu_kernels, distributed
from gan_core.config import ConfigError, ModelConfig, TrainConfig
from gan_core.data.datasets import BatchSource
from gan_core.models import Discriminator, Generator, check_size

METRIC_NAMES = ("loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after")
FIXED_NOISE = 64  # samples in the fixed-noise grid (8 x 8)


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


class TrainingDiverged(RuntimeError):
    """A loss became NaN/Inf. `step` is the first bad step; the models hold the last good weights again."""

    def __init__(self, step: int, last_good_step: int) -> None:
        super().__init__(
            f"training diverged at step {step} (a loss became NaN or infinite); the weights from step "
            f"{last_good_step} were kept. Try lower learning rates, label smoothing 0.1, or a smaller batch")
        self.step, self.last_good_step = step, last_good_step


@dataclass
class StepMetrics:
    """One step's metrics. `values` is a (5,) tensor on the training device in METRIC_NAMES order."""

    step: int
    epoch: int
    epoch_end: bool
    batch_size: int
    values: torch.Tensor
    time: float

    def as_dict(self) -> dict[str, float]:  # a host sync: call sparingly on GPU
        return dict(zip(METRIC_NAMES, self.values.float().tolist()))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats (B, C, H, W) -> uint8 on the CPU: round(127.5 * (x + 1))."""
    return images.float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).cpu()


class Trainer:
    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, *, images: torch.Tensor,
                 device: torch.device | None = None, fast_cpu_kernels: bool = True,
                 dist: distributed.DistContext | None = None) -> None:
        self.model_cfg, self.cfg = model_cfg.validate(), train_cfg.validate()
        check_size(model_cfg)
        if images.shape[1:] != (model_cfg.channels, model_cfg.image_size, model_cfg.image_size):
            raise ConfigError(f"images are {tuple(images.shape[1:])} but the model expects "
                              f"{(model_cfg.channels, model_cfg.image_size, model_cfg.image_size)}")
        self.device = dist.device if dist else (device or resolve_device(train_cfg.device))
        # DDP (training/distributed.py): this process's rank; batch_size stays per rank
        self.dist = dist
        self.rank, self.world_size = (dist.rank, dist.world_size) if dist else (0, 1)
        cuda = self.device.type == "cuda"
        if cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        torch.manual_seed(train_cfg.seed)  # weight init and dropout
        self.G = Generator(model_cfg).to(self.device)
        self.D = Discriminator(model_cfg).to(self.device)
        # channels_last everywhere: cuDNN's fast NHWC kernels on GPU; on CPU oneDNN's convolutions ran 10-14 %
        # faster per step in NHWC at 32x32 (bench/README.md). The data batches arrive NHWC too (BatchSource).
        self.G.to(memory_format=torch.channels_last)
        self.D.to(memory_format=torch.channels_last)
        # CPU: GEMM forms of the layers oneDNN runs poorly (cpu_kernels.py; 2-16 % per step, BENCHMARKS.md).
        # Not under torch.compile, which traces PyTorch's own layers.
        self.fast_cpu_layers = 0
        if self.device.type == "cpu" and fast_cpu_kernels and not train_cfg.compile:
            self.fast_cpu_layers = cpu_kernels.accelerate(self.G) + cpu_kernels.accelerate(self.D)
        self._d_params = list(self.D.parameters())
        self.noise_gen = torch.Generator(device=self.device).manual_seed(train_cfg.seed + 1)
        self.data_gen = torch.Generator().manual_seed(train_cfg.seed + 2)
        self.data = BatchSource(images, batch_size=train_cfg.batch_size, device=self.device,
                                hflip=train_cfg.hflip, generator=self.data_gen, rank=self.rank,
                                world_size=self.world_size)
        self.batch_size = self.data.batch_size
        fixed_gen = torch.Generator().manual_seed(train_cfg.seed + 3)
        self.fixed_z = torch.randn(FIXED_NOISE, model_cfg.z_dim, generator=fixed_gen).to(self.device)
        # Fused Adam: one kernel over all tensors (CUDA; CPU since torch 2.4, 2 % per step at the app's defaults).
        opt_kw = dict(fused=True) if self.device.type in ("cuda", "cpu") else dict(foreach=True)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=train_cfg.lr_g,
                                      betas=(train_cfg.beta1, train_cfg.beta2), **opt_kw)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=train_cfg.lr_d,
                                      betas=(train_cfg.beta1, train_cfg.beta2), **opt_kw)
        self.amp = contextlib.nullcontext
        if cuda and train_cfg.amp:
            self.amp = lambda: torch.autocast("cuda", dtype=torch.bfloat16)
        self.g_fwd, self.d_fwd = self.G, self.D
        if train_cfg.compile:
            try:
                self.g_fwd, self.d_fwd = torch.compile(self.G), torch.compile(self.D)
            except Exception:  # no compiler toolchain: eager is the fallback
                self.g_fwd, self.d_fwd = self.G, self.D
        self.step_count = 0
        self.epoch = 0
        self._real_target = 1.0 - train_cfg.label_smoothing
        if dist is not None:  # after compile's fallback: g_fwd/d_fwd become the DDP wrappers
            distributed.attach(self, dist)

    @property
    def steps_per_epoch(self) -> int:
        return self.data.steps_per_epoch

    @property
    def total_steps(self) -> int:
        by_epochs = self.cfg.epochs * self.steps_per_epoch
        return min(by_epochs, self.cfg.max_steps) if self.cfg.max_steps else by_epochs

    @property
    def done(self) -> bool:
        return self.step_count >= self.total_steps

    def _noise(self, n: int) -> torch.Tensor:
        # Under DDP every rank draws the global batch's noise (world_size * n, z) and keeps its own slice: the
        # ranks' generators stay in step and together see what one process with the global batch would.
        z = torch.randn(n * self.world_size, self.model_cfg.z_dim, device=self.device, generator=self.noise_gen)
        return z[self.rank * n:(self.rank + 1) * n] if self.world_size > 1 else z

    def _bce(self, logits: torch.Tensor, target: float) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits, target, dtype=torch.float))

    def step(self) -> StepMetrics:
        """One training step. Returns metrics as device tensors (no host sync here)."""
        b = self.batch_size
        epoch_end = False
        for _ in range(self.cfg.d_steps):
            real, ended = self.data.next()
            epoch_end |= ended
            fake = None
            with self.amp():
                fake = self.g_fwd(self._noise(b))                    # (B, C, H, W)
                d_real = self.d_fwd(real)                            # (B,) logits
                d_fake = self.d_fwd(fake.detach())
                loss_d = self._bce(d_real, self._real_target) + self._bce(d_fake, 0.0)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        d_real_prob = torch.sigmoid(d_real.detach().float()).mean()
        d_fake_before = torch.sigmoid(d_fake.detach().float()).mean()
        # The G step needs gradients through D's activations but not of D's weights: freezing them skips
        # every D weight-gradient GEMM in this backward (~1/9 of a step's FLOPs), and D's .grad stays untouched.
        self._set_d_grad(False)
        try:
            for k in range(self.cfg.g_steps):
                with self.amp():
                    if k > 0:  # the first G step reuses the batch D just saw; later ones draw fresh noise
                        fake = self.g_fwd(self._noise(b))
                    d_fake_g = self.d_fwd(fake)                      # against the updated D
                    loss_g = self._bce(d_fake_g, 1.0)
                self.opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                self.opt_g.step()
                if k == 0:
                    d_fake_after = torch.sigmoid(d_fake_g.detach().float()).mean()
        finally:
            self._set_d_grad(True)
        self.step_count += 1
        if epoch_end:
            self.epoch += 1
        values = torch.stack([loss_d.detach().float(), loss_g.detach().float(), d_real_prob, d_fake_before,
                              d_fake_after])
        return StepMetrics(self.step_count, self.epoch, epoch_end, b, values, time.perf_counter())

    def _set_d_grad(self, on: bool) -> None:
        for p in self._d_params:
            p.requires_grad_(on)

    @torch.no_grad()
    def sample_fixed(self) -> torch.Tensor:
        """The fixed-noise samples in eval mode (BatchNorm running stats): uint8 (64, C, H, W) on the CPU."""
        was_training = self.G.training
        self.G.eval()
        try:
            with self.amp():
                images = self.G(self.fixed_z)
        finally:
            self.G.train(was_training)
        return to_uint8(images)

    def snapshot_weights(self) -> dict[str, dict]:
        """Copies of G and D weights and of both optimisers' state (the divergence guard's last good state:
        a NaN step also poisons Adam's moments, so weights alone would diverge again on resume)."""
        return {"G": {k: v.detach().clone() for k, v in self.G.state_dict().items()},
                "D": {k: v.detach().clone() for k, v in self.D.state_dict().items()},
                "opt_g": copy.deepcopy(self.opt_g.state_dict()), "opt_d": copy.deepcopy(self.opt_d.state_dict())}

    def restore_weights(self, snap: dict[str, dict]) -> None:
        self.G.load_state_dict(snap["G"])
        self.D.load_state_dict(snap["D"])
        if "opt_g" in snap:  # deep copies again: load_state_dict would alias the snapshot's tensors
            self.opt_g.load_state_dict(copy.deepcopy(snap["opt_g"]))
            self.opt_d.load_state_dict(copy.deepcopy(snap["opt_d"]))


def sample_diversity(samples: torch.Tensor) -> float:
    """Mean pairwise L2 distance between samples scaled to [0, 1] per pixel, over sqrt(pixels): ~0 means collapse."""
    x = samples.float().flatten(1) / 255.0                          # (N, C*H*W)
    d = torch.cdist(x, x)                                            # (N, N)
    n = x.shape[0]
    return float(d.sum() / max(n * (n - 1), 1) / x.shape[1] ** 0.5)
