"""Training under `torchrun`: the launcher's environment -> a process group, DDP models, reduced metrics, teardown.

`torchrun` (or any launcher that sets the same variables) gives each process RANK, WORLD_SIZE and LOCAL_RANK;
`from_env()` reads them (None when they are absent: a plain single-process run). `start()` picks the device
(CUDA: one GPU per local rank; else the CPU) and joins the process group (`nccl` on CUDA, `gloo` on the CPU)
with a collective timeout, so a rank that dies makes the others fail with a clear message instead of waiting
forever. `attach(trainer)` wraps G and D in DistributedDataParallel while the Trainer keeps the bare modules
(`trainer.G`, `trainer.D`): checkpoints and EMA copies see no `module.` prefixes. Optional synchronised
BatchNorm: torch's `SyncBatchNorm` on CUDA; on the CPU, where torch's refuses to run, `CpuSyncBatchNorm` below
(the same maths with two differentiable all-reduces). Rank 0 is the only one that writes (the CLI checks
`is_main`); everything else here is collective and must be called on every rank in the same order.
"""
from __future__ import annotations

import datetime
import os
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
from torch import nn

from gan_core.config import ConfigError

if TYPE_CHECKING:
    from gan_core.training.trainer import Trainer

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
DEFAULT_TIMEOUT_S = 300  # a collective that waits this long for a dead or stuck rank fails on every survivor


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the run. `device` is this rank's training device."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str
    timeout_s: float

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """True when a launcher (torchrun, SLURM with the torchrun variables) started this process."""
    return "WORLD_SIZE" in os.environ


def env_ranks() -> tuple[int, int, int] | None:
    """(rank, local_rank, world_size) from the environment, or None outside a launcher; ConfigError if garbled."""
    if not launched():
        return None
    try:
        rank, world = int(os.environ.get("RANK", "0")), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (set by torchrun)") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError(f"RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local} do not describe a run")
    return rank, local, world


def rank_device(device: torch.device, local_rank: int) -> torch.device:
    """The device of one local rank: cuda:<local_rank> (one GPU per process), or the CPU. MPS has no DDP backend."""
    if device.type == "cuda":
        n = torch.cuda.device_count()
        if local_rank >= n:
            raise ConfigError(f"local rank {local_rank} has no GPU: this machine has {n}; start at most {n} "
                              "processes per node (--nproc-per-node)")
        return torch.device("cuda", local_rank)
    if device.type == "mps":
        raise ConfigError("DDP does not run on Apple MPS: use --device cpu under torchrun")
    return torch.device("cpu")


def start(device: torch.device, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> DistContext:
    """Join the process group of the launcher's run (MASTER_ADDR/PORT or torchrun's rendezvous store)."""
    ranks = env_ranks()
    if ranks is None:
        raise ConfigError("not started by torchrun (no WORLD_SIZE in the environment)")
    rank, local, world = ranks
    device = rank_device(device, local)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        kw = {"device_id": device} if device.type == "cuda" else {}
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s), **kw)
    return DistContext(rank, local, world, device, backend, timeout_s)


def stop() -> None:
    """Leave the process group (safe to call when none was joined, or after a failure)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_mean(values: torch.Tensor, ctx: DistContext | None) -> torch.Tensor:
    """Mean of `values` over the ranks (a copy; the input is unchanged). Without a context: `values` itself."""
    if ctx is None or ctx.world_size == 1:
        return values
    out = values.detach().float().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / ctx.world_size


def failure_message(exc: BaseException, ctx: DistContext) -> str:
    """One line for a collective that failed: another rank died or stopped answering within the timeout."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    first = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", first)      # gloo/nccl's source-file prefix
    first = first.split(". ")[0].rstrip(".")[:160]                      # its first sentence says what happened
    return (f"rank {ctx.rank}/{ctx.world_size}: lost contact with the other processes (one died, or did not answer "
            f"within {ctx.timeout_s:g} s): {first}. Nothing was saved by this rank; resume from the last saved "
            "checkpoint with --resume")


class _AllReduceSum(torch.autograd.Function):
    """y = sum over ranks of x. Every rank's loss depends on every x, so dL/dx_r = sum over ranks of dL_q/dy:
    the backward is the same all-reduce of the incoming gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        dist.all_reduce(y, op=dist.ReduceOp.SUM)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        g = grad.contiguous().clone()
        dist.all_reduce(g, op=dist.ReduceOp.SUM)
        return g


class CpuSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are taken over the whole global batch (all ranks): for CPU/gloo runs.

    Per channel c: mean_c = sum(x) / n and var_c = sum((x - mean_c)^2) / n, with sum and n all-reduced over
    ranks (two passes: the shifted second moment avoids E[x^2] - E[x]^2 cancellation). The all-reduces are
    differentiable (`_AllReduceSum`: the backward all-reduces the gradient): with DDP's averaging that gives
    exactly the gradient of BatchNorm over the concatenated batch. Running stats use the unbiased
    global variance, as nn.BatchNorm does. Eval mode, or a single process, is plain BatchNorm.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least a 2-D input (N, C, ...), got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        all_reduce = _AllReduceSum.apply
        self._check_input_dim(x)
        dims = [0] + list(range(2, x.dim()))                          # every axis but the channels
        shape = [1, -1] + [1] * (x.dim() - 2)                          # (1, C, 1, 1) for images
        local_n = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype, device=x.device)
        sums = all_reduce(torch.cat([x.sum(dims), local_n]))          # (C + 1): global sums, then global n
        n = sums[-1]
        mean = sums[:-1] / n                                           # (C,)
        centred = x - mean.view(shape)
        var = all_reduce(centred.pow(2).sum(dims)) / n                 # (C,) biased, as BN normalises with
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * n / (n - 1).clamp(min=1), m)
        return y


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm in `module` -> a synchronised one holding the same parameters and buffers (in place for
    children; the state_dict keys are unchanged, so checkpoints stay ordinary)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, CpuSyncBatchNorm):
            sync = CpuSyncBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                    child.track_running_stats)
            if child.affine:
                sync.weight, sync.bias = child.weight, child.bias     # the same Parameter objects
            sync.running_mean, sync.running_var = child.running_mean, child.running_var
            sync.num_batches_tracked = child.num_batches_tracked
            sync.train(child.training)
            setattr(module, name, sync)
        else:
            convert_sync_batchnorm(child, device)
    return module


def attach(trainer: Trainer, ctx: DistContext) -> None:
    """Make `trainer` a DDP trainer: optional synchronised BatchNorm, then G and D wrapped for its forward passes.

    trainer.G / trainer.D stay the bare modules (saving, sampling, EMA); trainer.g_fwd / d_fwd become the DDP
    wrappers the step calls, so gradients are averaged over the ranks at each backward. The G step runs D's
    wrapper with D's weights frozen (Trainer._set_d_grad): no D gradient hook fires, so DDP reduces nothing for
    D there and its next D step starts clean; the equivalence test covers this path.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    if trainer.cfg.sync_bn:
        convert_sync_batchnorm(trainer.G, ctx.device)
        convert_sync_batchnorm(trainer.D, ctx.device)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    # A channels_last weight with one input channel (D's first conv on greyscale) has two valid stride sets;
    # autograd picks the other one for its gradient and DDP warns at every step though the memory is the same.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    g, d = DDP(trainer.G, device_ids=ids), DDP(trainer.D, device_ids=ids)
    if trainer.cfg.compile:
        try:
            g, d = torch.compile(g), torch.compile(d)
        except Exception:  # no compiler toolchain: eager DDP is the fallback
            pass
    trainer.g_fwd, trainer.d_fwd = g, d
    decorrelate_dropout(trainer)


def decorrelate_dropout(trainer: Trainer) -> None:
    """Give ranks > 0 their own global torch RNG stream (dropout masks), derived from the seed, the rank and the
    step: the ranks started (and resume) from one shared state, and identical masks on every rank would drop
    the same units for each rank's i-th sample. Noise and data have their own generators, kept in step."""
    if trainer.rank > 0:
        torch.manual_seed(hash((trainer.cfg.seed, trainer.rank, trainer.step_count)) % 2**63)
