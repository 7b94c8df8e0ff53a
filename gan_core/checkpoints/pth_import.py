"""Import a pytorch/examples DCGAN generator (`netG_epoch_*.pth`) as a DCGAN Studio `dcgan` generator.

pytorch/examples' `Generator.main` (64x64) is
    0 ConvT(nz, ngf*8, 4, 1, 0)  1 BN  2 ReLU                    # (B, ngf*8, 4, 4)
    3 ConvT(ngf*8, ngf*4, 4, 2, 1)  4 BN  5 ReLU                 # (B, ngf*4, 8, 8)
    6 ConvT(ngf*4, ngf*2, 4, 2, 1)  7 BN  8 ReLU                 # (B, ngf*2, 16, 16)
    9 ConvT(ngf*2, ngf, 4, 2, 1)  10 BN  11 ReLU                 # (B, ngf, 32, 32)
    12 ConvT(ngf, nc, 4, 2, 1)  13 Tanh                          # (B, nc, 64, 64)
which is exactly our `dcgan` preset's `body` at image_size 64 (s0 = 4, four doublings, top width = 8 * g_width),
so `main.<i>.<param>` maps to `body.<i>.<param>` index for index. The file is read with
`torch.load(weights_only=True)` only (no arbitrary unpickling), and must be a plain state dict of tensors
(`torch.save(netG.state_dict(), ...)`; a `module.` prefix from DataParallel is accepted).
"""
from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from gan_core.checkpoints.store import CheckpointError
from gan_core.config import ConfigError, ModelConfig
from gan_core.models import Generator, check_size

MAX_PTH_BYTES = 256 << 20   # a 64 px netG at ngf=64 is ~14 MB; refuse anything absurdly larger before reading


def read_state_dict(source: str | Path | bytes | io.BytesIO) -> dict[str, torch.Tensor]:
    """torch.load(weights_only=True) -> {name: tensor}; anything else (a pickled module, a dict of
    non-tensors, a zip of something else) is refused with a message saying what to save instead."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(bytes(source))
    size = source.getbuffer().nbytes if isinstance(source, io.BytesIO) else Path(source).stat().st_size
    if size > MAX_PTH_BYTES:
        raise CheckpointError(f"the .pth file is {size >> 20} MiB; a DCGAN generator is far smaller")
    try:
        with warnings.catch_warnings():   # "pickle protocol 4" notes on files that are refused anyway
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(source, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            "this file is not a plain PyTorch state dict (it was refused by torch.load(weights_only=True): "
            f"{first}). Save the generator with torch.save(netG.state_dict(), 'netG.pth')") from None
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"the .pth file holds a {type(obj).__name__}, not a state dict of tensors")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"the .pth file is not a plain state dict of tensors (entry {bad[0]!r} is not a "
                              "tensor); save netG.state_dict()")
    return obj


def _rename(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`[module.]main.<i>.<p>` -> `body.<i>.<p>`."""
    out = {}
    for key, value in state.items():
        k = key[len("module."):] if key.startswith("module.") else key
        if not k.startswith("main."):
            raise CheckpointError(f"unexpected entry {key!r}: a pytorch/examples netG has only main.* weights")
        out["body." + k[len("main."):]] = value
    return out


def infer_sizes(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Best guess of nz, ngf, channels from the first and last ConvT weights (for pre-filling the form).

    ConvT weights are (in, out, k, k): main.0 is (nz, ngf*8, 4, 4); main.12 is (ngf, nc, 4, 4)."""
    s = _rename(state)
    first, last = s.get("body.0.weight"), s.get("body.12.weight")
    if first is None or last is None or first.ndim != 4 or last.ndim != 4:
        raise CheckpointError("this state dict does not look like a 64x64 pytorch/examples netG "
                              "(no main.0.weight / main.12.weight)")
    return {"nz": int(first.shape[0]), "ngf": int(last.shape[0]), "channels": int(last.shape[1])}


def generator_from_pth(source: str | Path | bytes | io.BytesIO, *, nz: int, ngf: int,
                       channels: int) -> tuple[Generator, ModelConfig]:
    """A Studio Generator (dcgan, 64 px) carrying the netG's weights, in eval mode on the CPU."""
    try:
        cfg = ModelConfig(preset="dcgan", image_size=64, channels=channels, z_dim=nz, g_width=ngf,
                          d_width=ngf).validate()
        check_size(cfg)
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    state = _rename(read_state_dict(source))
    with torch.device("meta"):             # shapes only: nothing is allocated until the file is known to fit
        expected = Generator(cfg).state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        names = ", ".join(k.replace("body.", "main.") for k in (missing or extra)[:3])
        raise CheckpointError(f"the weights are not a 64x64 pytorch/examples netG ({'missing' if missing else 'unexpected'} "
                              f"{names})")
    for k, v in expected.items():
        if state[k].shape != v.shape:
            guess = _guess_text(state)
            raise CheckpointError(f"{k.replace('body.', 'main.')} has shape {tuple(state[k].shape)} but nz={nz}, "
                                  f"ngf={ngf}, channels={channels} needs {tuple(v.shape)}{guess}")
    generator = Generator(cfg)
    generator.load_state_dict({k: state[k].to(v.dtype) for k, v in expected.items()}, strict=True)
    return generator.eval(), cfg


def _guess_text(state: dict[str, torch.Tensor]) -> str:
    try:
        g = infer_sizes({("main." + k[5:]): v for k, v in state.items()})
    except CheckpointError:
        return ""
    return f" (the file looks like nz={g['nz']}, ngf={g['ngf']}, channels={g['channels']})"


def import_pth(source: str | Path | bytes | io.BytesIO, out: str | Path, *, nz: int, ngf: int, channels: int,
               name: str = "netG.pth", extra: dict[str, Any] | None = None) -> Path:
    """Convert a netG .pth into a checkpoint folder in Hub layout (config.json, model.safetensors, card)."""
    from gan_core.checkpoints.store import save_checkpoint
    from gan_core.export import grid_png
    from gan_core.sampling import images_from_seeds

    generator, cfg = generator_from_pth(source, nz=nz, ngf=ngf, channels=channels)
    samples = grid_png(images_from_seeds(generator, range(16)), nrow=8)
    return save_checkpoint(out, generator=generator, model_cfg=cfg, dataset=f"imported from {name}",
                           samples_png=samples, extra={"imported_from": name, **(extra or {})})
