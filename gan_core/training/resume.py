"""Resume state <-> a Trainer and Run, as safetensors tensors plus JSON (no pickle).

Tensors: discriminator weights `D.*`, optimiser moments `opt_g.<param index>.<name>`, the fixed noise, and the
RNG states as uint8 tensors. JSON: step, epoch, optimiser param groups, the data position, history, config.
"""
from __future__ import annotations

from typing import Any

import torch

from gan_core.config import ModelConfig, TrainConfig
from gan_core.training.run import Run
from gan_core.training.trainer import Trainer


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for key, value in meta.get("scalars", {}).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def _match_param_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each moment tensor its parameter's memory layout again. safetensors stores them contiguous (NCHW),
    the parameters are channels_last, and fused Adam walks param, grad and moments as one flat buffer: with the
    layouts mismatched it pairs the wrong elements and the resumed run silently trains on garbage."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            for name, value in state.items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    state[name] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def training_state(run: Run) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    t = run.trainer
    tensors = {f"D.{k}": v for k, v in t.D.state_dict().items()}
    og, og_meta = _flatten_optimizer("opt_g", t.opt_g)
    od, od_meta = _flatten_optimizer("opt_d", t.opt_d)
    tensors.update(og)
    tensors.update(od)
    tensors["fixed_z"] = t.fixed_z
    tensors["rng.noise"] = t.noise_gen.get_state()
    tensors["rng.data"] = t.data_gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["data.order"] = t.data._order.cpu()                      # this epoch's permutation
    meta = {"step": t.step_count, "epoch": t.epoch, "data": t.data.state(), "opt_g": og_meta, "opt_d": od_meta,
            "model": t.model_cfg.to_dict(), "train": t.cfg.to_dict(), "history": run.history,
            "grid_steps": [g.step for g in run.grids]}
    return tensors, meta


def restore_training_state(run: Run, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Load D, optimisers, RNG, fixed noise and history into a freshly built Run (same model config)."""
    t = run.trainer
    d_state = {k[2:]: v for k, v in tensors.items() if k.startswith("D.")}
    t.D.load_state_dict(d_state, strict=True)
    t.opt_g.load_state_dict(_unflatten_optimizer("opt_g", tensors, meta["opt_g"]))
    t.opt_d.load_state_dict(_unflatten_optimizer("opt_d", tensors, meta["opt_d"]))
    _match_param_layouts(t.opt_g)
    _match_param_layouts(t.opt_d)
    # load_state_dict keeps the new param_groups' lr only if we set them again: the new TrainConfig wins.
    for opt, lr in ((t.opt_g, t.cfg.lr_g), (t.opt_d, t.cfg.lr_d)):
        for group in opt.param_groups:
            group["lr"], group["betas"] = lr, (t.cfg.beta1, t.cfg.beta2)
    if tensors["fixed_z"].shape == t.fixed_z.shape:
        t.fixed_z = tensors["fixed_z"].to(t.device)
    if t.device.type == "cpu":
        t.noise_gen.set_state(tensors["rng.noise"])
    t.data_gen.set_state(tensors["rng.data"])
    torch.set_rng_state(tensors["rng.torch"])
    t.step_count, t.epoch = int(meta["step"]), int(meta["epoch"])
    t.data._pos = int(meta.get("data", {}).get("pos", 0))
    if "data.order" in tensors and tensors["data.order"].numel() == len(t.data):
        t.data._order = tensors["data.order"].to(t.device)
    run.history[:] = list(meta.get("history", []))
    run.__post_init__()


def configs_from_state(meta: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    return ModelConfig.from_dict(meta["model"]), TrainConfig.from_dict(meta["train"])
