"""The training step: one `Trainer.step()` = d_steps discriminator updates, then g_steps generator updates.

(1) D: maximise log D(x) + log(1 - D(G(z)))  ==  minimise BCE(D(x), 1 - smoothing) + BCE(D(G(z)), 0)
(2) G: maximise log D(G(z)) against the *updated* D (non-saturating loss) == minimise BCE(D(G(z)), 1)
(the default `bce` loss; `hinge` and `ls` in losses.py). D sees x and G(z) through the augmentation
(augment.py; identity when off); after each step the EMA copy of G (`ema`, if on) moves towards G.
The Trainer owns the models' optimisers, the fixed noise, the seeded generators, AMP and optional compile.
It never prints and never loops: the caller (runloop.Run, the CLI, a background job) decides when to step.
Metrics stay on the device as a (6,) tensor per step; reading them (a host sync) is the caller's choice.
"""
from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gan_core.training import cpu_kernels, distributed, losses
from gan_core.training.devices import resolve_device
from gan_core.training.augment import make_augmenter
from gan_core.config import ConfigError, ModelConfig, TrainConfig
from gan_core.data.datasets import BatchSource
from gan_core.models import Discriminator, Generator, check_size

# d_real / d_fake_*: mean sigmoid(D's logit) (losses.py says what that means per loss); aug_p: the augmentation
# probability (1 for a fixed list, adaptive under ada, 0 when off).
METRIC_NAMES = ("loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after", "aug_p")
FIXED_NOISE = 64  # samples in the fixed-noise grid (8 x 8)


class TrainingDiverged(RuntimeError):
    """A loss became NaN/Inf. `step` is the first bad step; the models hold the last good weights again."""

    def __init__(self, step: int, last_good_step: int) -> None:
        super().__init__(
            f"training diverged at step {step} (a loss became NaN or infinite); the weights from step "
            f"{last_good_step} were kept. Try lower learning rates, label smoothing 0.1, or a smaller batch")
        self.step, self.last_good_step = step, last_good_step


@dataclass
class StepMetrics:
    """One step's metrics. `values` is a (6,) tensor on the training device in METRIC_NAMES order."""

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
    """Built in named steps (each below): models (+ spectral norm, CPU kernels), data and noise, optimisers,
    the recipe (loss, augmentation, generator EMA), then the forward paths (AMP, compile)."""

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
        self._build_models(fast_cpu_kernels=fast_cpu_kernels)
        self._build_data(images)
        self._build_optimisers()
        self._build_recipe()
        self._build_forward()
        self.step_count = 0
        self.epoch = 0
        if dist is not None:  # after compile's fallback: g_fwd/d_fwd become the DDP wrappers
            distributed.attach(self, dist)

    def _build_models(self, *, fast_cpu_kernels: bool) -> None:
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        torch.manual_seed(self.cfg.seed)  # weight init and dropout
        self.G = Generator(self.model_cfg).to(self.device)
        self.D = Discriminator(self.model_cfg).to(self.device)
        # channels_last everywhere: cuDNN's fast NHWC kernels on GPU; on CPU oneDNN's convolutions ran 10-14 %
        # faster per step in NHWC at 32x32 (bench/README.md). The data batches arrive NHWC too (BatchSource).
        self.G.to(memory_format=torch.channels_last)
        self.D.to(memory_format=torch.channels_last)
        # CPU: GEMM forms of the layers oneDNN runs poorly (cpu_kernels.py; 2-16 % per step, BENCHMARKS.md).
        # Not under torch.compile, which traces PyTorch's own layers.
        self.fast_cpu_layers = 0
        if self.device.type == "cpu" and fast_cpu_kernels and not self.cfg.compile:
            self.fast_cpu_layers = cpu_kernels.accelerate(self.G) + cpu_kernels.accelerate(self.D)
        if self.cfg.spectral_norm:
            # After the CPU kernels on purpose: the parametrisation subclasses whatever class a layer has, so
            # D's StridedConv2d/DenseConv2d keep their GEMM forward and only W / sigma(W) is new (no fallback).
            apply_spectral_norm(self.D)
        self._d_params = list(self.D.parameters())

    def _build_data(self, images: torch.Tensor) -> None:
        seed = self.cfg.seed
        self.noise_gen = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.data_gen = torch.Generator().manual_seed(seed + 2)
        self.data = BatchSource(images, batch_size=self.cfg.batch_size, device=self.device,
                                hflip=self.cfg.hflip, generator=self.data_gen, rank=self.rank,
                                world_size=self.world_size)
        self.batch_size = self.data.batch_size
        fixed_gen = torch.Generator().manual_seed(seed + 3)
        self.fixed_z = torch.randn(FIXED_NOISE, self.model_cfg.z_dim, generator=fixed_gen).to(self.device)

    def _build_optimisers(self) -> None:
        c = self.cfg
        # Fused Adam: one kernel over all tensors (CUDA; CPU since torch 2.4, 2 % per step at the app's defaults).
        opt_kw = dict(fused=True) if self.device.type in ("cuda", "cpu") else dict(foreach=True)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=(c.beta1, c.beta2), **opt_kw)
        self.opt_d = torch.optim.Adam(self._d_params, lr=c.lr_d, betas=(c.beta1, c.beta2), **opt_kw)

    def _build_recipe(self) -> None:
        """The loss, the augmentation in front of D, and the EMA copy of G that draws every sample we show."""
        c = self.cfg
        self._real_target = 1.0 - c.label_smoothing
        self.augment = make_augmenter(c.augment_ops(), adaptive=c.augment.strip().lower() == "ada",
                                      channels=self.model_cfg.channels, target=c.ada_target,
                                      device=self.device, seed=c.seed + 4)
        self.ema: AveragedModel | None = None
        if c.ema_decay > 0:
            # use_buffers=True averages BatchNorm's running stats too (else the copy would keep G's, which belong
            # to other weights). n_averaged stays a CPU tensor (no device= here): AveragedModel reads it on the
            # host at every update, which on a GPU would be a sync per step.
            self.ema = AveragedModel(self.G, multi_avg_fn=self._ema_update, use_buffers=True)
            self.ema.requires_grad_(False)
            self.ema.module.eval()

    def ema_decay_now(self) -> float:
        """EMA decay at the current step with a warm-up: min(decay, (1 + t) / (10 + t)) (TensorFlow's
        num_updates rule), so the average covers only the last ~t/9 steps early on instead of the noisy start."""
        t = self.step_count
        return min(self.cfg.ema_decay, (1 + t) / (10 + t))

    def _ema_update(self, ema_params: list, params: list, n_averaged: torch.Tensor) -> None:
        get_ema_multi_avg_fn(self.ema_decay_now())(ema_params, params, n_averaged)

    def _build_forward(self) -> None:
        self.amp = contextlib.nullcontext
        if self.device.type == "cuda" and self.cfg.amp:
            self.amp = lambda: torch.autocast("cuda", dtype=torch.bfloat16)
        self.g_fwd, self.d_fwd = self.G, self.D
        if self.cfg.compile:
            try:
                self.g_fwd, self.d_fwd = torch.compile(self.G), torch.compile(self.D)
            except Exception:  # no compiler toolchain: eager is the fallback
                self.g_fwd, self.d_fwd = self.G, self.D

    @property
    def sample_generator(self) -> Generator:
        """The generator whose images we show and save: the EMA copy when EMA is on, else G itself."""
        return self.ema.module if self.ema is not None else self.G

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

    def step(self) -> StepMetrics:
        """One training step. Returns metrics as device tensors (no host sync here)."""
        b, loss, aug = self.batch_size, self.cfg.loss, self.augment
        epoch_end = False
        for _ in range(self.cfg.d_steps):
            real, ended = self.data.next()
            epoch_end |= ended
            fake = None
            with self.amp():
                fake = self.g_fwd(self._noise(b))                    # (B, C, H, W)
                d_real = self.d_fwd(aug(real))                       # (B,) logits of augmented images
                d_fake = self.d_fwd(aug(fake.detach()))
                loss_d = losses.d_loss(loss, d_real, d_fake, real_target=self._real_target)   # float32
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            aug.observe(d_real)                                      # ada: r_t = E[sign(D(x))] drives p
        d_real_prob = losses.chart_probability(d_real)
        d_fake_before = losses.chart_probability(d_fake)
        # The G step needs gradients through D's activations but not of D's weights: freezing them skips
        # every D weight-gradient GEMM in this backward (~1/9 of a step's FLOPs), and D's .grad stays untouched.
        self._set_d_grad(False)
        try:
            for k in range(self.cfg.g_steps):
                with self.amp():
                    if k > 0:  # the first G step reuses the batch D just saw; later ones draw fresh noise
                        fake = self.g_fwd(self._noise(b))
                    d_fake_g = self.d_fwd(aug(fake))                 # against the updated D; G's gradient
                    loss_g = losses.g_loss(loss, d_fake_g)           # flows back through the augmentation
                self.opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                self.opt_g.step()
                if k == 0:
                    d_fake_after = losses.chart_probability(d_fake_g)
        finally:
            self._set_d_grad(True)
        if self.ema is not None:
            self.ema.update_parameters(self.G)
        self.step_count += 1
        if epoch_end:
            self.epoch += 1
        values = torch.stack([loss_d.detach().float(), loss_g.detach().float(), d_real_prob, d_fake_before,
                              d_fake_after, aug.p.float()])
        return StepMetrics(self.step_count, self.epoch, epoch_end, b, values, time.perf_counter())

    def _set_d_grad(self, on: bool) -> None:
        for p in self._d_params:
            p.requires_grad_(on)

    @torch.no_grad()
    def sample_fixed(self) -> torch.Tensor:
        """The fixed-noise samples of `sample_generator` (the EMA copy when on) in eval mode (BatchNorm running
        stats): uint8 (64, C, H, W) on the CPU."""
        g = self.sample_generator
        was_training = g.training
        g.eval()
        try:
            with self.amp():
                images = g(self.fixed_z)
        finally:
            g.train(was_training)
        return to_uint8(images)

    def snapshot_weights(self) -> dict[str, dict]:
        """Copies of G, D and the EMA copy and of both optimisers' state (the divergence guard's last good state:
        a NaN step also poisons Adam's moments and the EMA, so weights alone would diverge again on resume)."""
        snap = {"G": _clone(self.G.state_dict()), "D": _clone(self.D.state_dict()),
                "opt_g": copy.deepcopy(self.opt_g.state_dict()), "opt_d": copy.deepcopy(self.opt_d.state_dict())}
        if self.ema is not None:
            snap["ema"] = _clone(self.ema.state_dict())
        return snap

    def restore_weights(self, snap: dict[str, dict]) -> None:
        self.G.load_state_dict(snap["G"])
        self.D.load_state_dict(snap["D"])
        if self.ema is not None and "ema" in snap:
            self.ema.load_state_dict(snap["ema"])
        if "opt_g" in snap:  # deep copies again: load_state_dict would alias the snapshot's tensors
            self.opt_g.load_state_dict(copy.deepcopy(snap["opt_g"]))
            self.opt_d.load_state_dict(copy.deepcopy(snap["opt_d"]))


def apply_spectral_norm(model: nn.Module) -> int:
    """Spectral norm (Miyato et al., 2018) on every conv and linear layer of `model`: W is used as W / sigma(W),
    sigma estimated by one power iteration per forward in training mode (PyTorch's parametrisation; u, v are
    buffers in the state_dict, so they resume). Returns how many layers got it."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in layers:
        spectral_norm(m)
    return len(layers)


def _clone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


def sample_diversity(samples: torch.Tensor) -> float:
    """Mean pairwise L2 distance between samples scaled to [0, 1] per pixel, over sqrt(pixels): ~0 means collapse."""
    x = samples.float().flatten(1) / 255.0                          # (N, C*H*W)
    d = torch.cdist(x, x)                                            # (N, N)
    n = x.shape[0]
    return float(d.sum() / max(n * (n - 1), 1) / x.shape[1] ** 0.5)
