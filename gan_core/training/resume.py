"""Resume state <-> a Run, as safetensors tensors plus JSON (no pickle), and the one place that decides which
settings a resumed run takes from its checkpoint.

Tensors: discriminator weights `D.*`, with EMA on the raw generator `G.*` (model.safetensors holds the EMA copy)
and the EMA state `ema.*`, the augmentation's RNG and p `aug.*`, optimiser moments `opt_g.<param index>.<name>`, the fixed noise, the data
order and the RNG states as uint8 tensors. JSON: step, epoch, optimiser param groups, the data position, history,
configs. `Run.resume()` and `Run.save()` (training/run.py) are the only callers; the CLI and the jobs call those.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gan_core.checkpoints.store import read_training_state, resolve_source
from gan_core.config import ModelConfig, TrainConfig

if TYPE_CHECKING:
    from gan_core.training.run import Run


@dataclass(frozen=True)
class ResumePoint:
    """A checkpoint folder's training state, read once. `configs()` is where resume decides the settings: the
    model is the checkpoint's (the weights fix it), the training settings are the checkpoint's unless overridden
    (e.g. more epochs, another learning rate)."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]

    def configs(self, overrides: dict[str, Any] | None = None) -> tuple[ModelConfig, TrainConfig]:
        train = TrainConfig.from_dict(self.meta["train"])
        return (ModelConfig.from_dict(self.meta["model"]),
                dataclasses.replace(train, **(overrides or {})).validate())


def read_resume_point(source: str | Path) -> ResumePoint:
    """A folder, bundled name or Hub repo id -> its training state (CheckpointError when it has none)."""
    path = resolve_source(str(source))
    tensors, meta = read_training_state(path)
    return ResumePoint(path, tensors, meta)


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
    if t.ema is not None:      # model.safetensors is the EMA copy: the raw G that trains must travel here
        tensors.update({f"G.{k}": v for k, v in t.G.state_dict().items()})
        tensors.update({f"ema.{k}": v for k, v in t.ema.state_dict().items()})
    aug_tensors, aug_meta = t.augment.state()
    if t.augment.enabled:
        tensors.update(aug_tensors)
    og, og_meta = _flatten_optimizer("opt_g", t.opt_g)
    od, od_meta = _flatten_optimizer("opt_d", t.opt_d)
    tensors.update(og)
    tensors.update(od)
    tensors["fixed_z"] = t.fixed_z
    tensors["rng.noise"] = t.noise_gen.get_state()
    tensors["rng.data"] = t.data_gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    data = t.data.state_dict()
    tensors["data.order"] = data["order"]                             # this epoch's permutation
    meta = {"step": t.step_count, "epoch": t.epoch, "data": {"pos": data["pos"], "global_batch": data["global_batch"]},
            "opt_g": og_meta, "opt_d": od_meta,
            "augment": aug_meta,
            "model": t.model_cfg.to_dict(), "train": t.cfg.to_dict(), "history": run.history,
            "grid_steps": [g.step for g in run.grids]}
    return tensors, meta


def _restore_generators(t, point: ResumePoint) -> None:
    """G and its EMA copy. A checkpoint saved with EMA has the raw G in `G.*` and model.safetensors is the EMA;
    one saved without has G in model.safetensors (an EMA turned on at resume then starts from G)."""
    from gan_core.checkpoints.store import load_generator_weights

    g_state = {k[2:]: v for k, v in point.tensors.items() if k.startswith("G.")}
    ema_state = {k[4:]: v for k, v in point.tensors.items() if k.startswith("ema.")}
    if g_state:
        t.G.load_state_dict(g_state, strict=True)
    else:
        load_generator_weights(t.G, point.path / "model.safetensors")
    if t.ema is None:
        return
    if ema_state:
        t.ema.load_state_dict(ema_state, strict=True)
    else:
        t.ema.module.load_state_dict(t.G.state_dict())


def restore_training_state(run: Run, point: ResumePoint) -> None:
    """Load G (and its EMA), D, optimisers, RNG, augmentation state, fixed noise, data position and history into
    a freshly built Run (same model)."""
    t, tensors, meta = run.trainer, point.tensors, point.meta
    _restore_generators(t, point)
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
    t.augment.load_state(tensors, meta.get("augment", {}))
    torch.set_rng_state(tensors["rng.torch"])
    t.step_count, t.epoch = int(meta["step"]), int(meta["epoch"])
    if t.dist is not None:  # rank 0's saved state was just loaded on every rank
        from gan_core.training.distributed import decorrelate_dropout

        decorrelate_dropout(t)
    t.data.load_state_dict({"order": tensors.get("data.order"), **meta.get("data", {})})
    run.restart(history=list(meta.get("history", [])))
