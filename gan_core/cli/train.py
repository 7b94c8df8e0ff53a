"""`python -m gan_core train`: flags generated from the ModelConfig/TrainConfig fields (`z_dim` -> `--z-dim`), so
the CLI, the UI and the configs cannot drift; one Run, resumed and saved by its own `resume()` / `save()`."""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from gan_core.config import DEVICES, PRESETS, ConfigError, ModelConfig, TrainConfig, with_preset

_HIDDEN_TRAIN = {"metrics_every"}
_CHOICES = {"preset": PRESETS, "device": DEVICES}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_config_flags(p: argparse.ArgumentParser, cls: type) -> None:
    for f in dataclasses.fields(cls):
        if f.name in _HIDDEN_TRAIN:
            continue
        kw: dict[str, Any] = {"default": None, "dest": f.name}
        if isinstance(f.default, bool):
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = type(f.default)
            kw["metavar"] = "X" if isinstance(f.default, float) else ("N" if isinstance(f.default, int) else None)
        if f.name in _CHOICES:
            kw["choices"] = _CHOICES[f.name]
        kw["help"] = f"default: preset's, else {f.default}"
        p.add_argument(_flag(f.name), **kw)


def add_train_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    t = sub.add_parser("train", help="train a DCGAN and save a checkpoint folder")
    _add_config_flags(t, ModelConfig)
    _add_config_flags(t, TrainConfig)
    t.add_argument("--out", help="checkpoint folder to write (default: runs/<preset>-<dataset>-<time>)")
    t.add_argument("--resume", help="checkpoint (folder, bundled name or Hub repo id) to continue from; a "
                   "generator-only one (HugGAN, pytorch/examples) keeps G's weights and starts D fresh")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--threads", type=int, help="CPU threads for training (default: one per core). On a machine "
                   "shared with other busy processes, 1 is often much faster than 2")
    t.set_defaults(handler=cmd_train)
    return t


def _given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
            if getattr(args, f.name, None) is not None}


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    from gan_core.training.trainer import device_defaults, resolve_device

    model_kw, train_kw = _given(args, ModelConfig), _given(args, TrainConfig)
    train_kw = {**device_defaults(resolve_device(train_kw.get("device", "auto"))), **train_kw}
    return with_preset(model_kw.pop("preset", "dcgan"), model=model_kw, train=train_kw)


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    if not 1 <= threads <= 1024:
        raise ConfigError(f"--threads must be between 1 and 1024, got {threads}")
    import torch

    torch.set_num_threads(threads)


def _open_run(args: argparse.Namespace, command: str):
    """Configs (from the flags, or the checkpoint's with the flags on top), data, Trainer, Run; resumed if asked."""
    from gan_core.checkpoints.store import NoTrainingState, load_generator
    from gan_core.data.datasets import load_images
    from gan_core.training.resume import read_resume_point
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer, resolve_device

    point, warm = None, None
    if args.resume:
        try:
            point = read_resume_point(args.resume)
        except NoTrainingState:            # a foreign or sample-only checkpoint: G from its weights, D fresh
            warm = load_generator(args.resume)
            print(f"note: {args.resume} ({warm.description}) has no discriminator or training state: G continues "
                  "from its weights, D starts fresh at step 0", file=sys.stderr)
    model_cfg, train_cfg = point.configs(_given(args, TrainConfig)) if point else configs_from_args(args)
    if warm is not None:
        model_cfg = warm.config
    device = resolve_device(train_cfg.device)
    _set_threads(args.threads)
    data = load_images(train_cfg.dataset, image_size=model_cfg.image_size, channels=model_cfg.channels)
    run = Run(Trainer(model_cfg, train_cfg, images=data.images, device=device), dataset=data.name, command=command)
    if point is not None:
        run.resume(point)
    elif warm is not None:
        run.trainer.G.load_state_dict(warm.generator.state_dict())
    return run, data


def _first_line(run, data) -> str:
    from gan_core.training.trainer import describe_device

    t, m, c = run.trainer, run.trainer.model_cfg, run.trainer.cfg
    skipped = f", skipped {data.skipped_total}" if data.skipped_total else ""
    amp = "bf16" if t.device.type == "cuda" and c.amp else "off"
    fast = f" fast_cpu_layers={t.fast_cpu_layers}" if t.fast_cpu_layers else ""
    return (f"device={describe_device(t.device)} data={data.name} images={len(data.images)}{skipped} "
            f"preset={m.preset} size={m.image_size}x{m.image_size}x{m.channels} z_dim={m.z_dim} "
            f"widths={m.g_width}/{m.d_width} batch={t.batch_size} steps={t.total_steps} ({t.steps_per_epoch}/epoch) "
            f"lr_g={c.lr_g:g} lr_d={c.lr_d:g} amp={amp}{fast}")


def _advance_all(run, bar) -> None:
    """Step until done; the bar shows the latest losses and probabilities at the metrics cadence."""
    every = run.trainer.cfg.metrics_every
    while not run.done:
        run.advance()
        if bar is None:
            continue
        bar.update(1)
        if run.history and run.trainer.step_count % every == 0:
            r = run.history[-1]
            bar.set_postfix(loss_d=f"{r['loss_d']:.3f}", loss_g=f"{r['loss_g']:.3f}",
                            d_x=f"{r['d_real']:.2f}", d_gz=f"{r['d_fake_before']:.2f}", refresh=False)
    run.flush()


def cmd_train(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from tqdm.auto import tqdm

    from gan_core.training.trainer import TrainingDiverged

    run, data = _open_run(args, "python -m gan_core " + shlex.join(list(argv)))
    t = run.trainer
    out = Path(args.out or f"runs/{t.model_cfg.preset}-{data.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    print(_first_line(run, data), flush=True)
    bar = None if args.quiet else tqdm(total=t.total_steps, initial=t.step_count, unit="step", file=sys.stderr)
    try:
        _advance_all(run, bar)
    except TrainingDiverged as exc:
        print(f"error: {exc}. Last good checkpoint: {run.save(out)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        run.flush()
        print(f"interrupted at step {t.step_count}; saved {run.save(out)}", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    rate = run.steady_images_per_s()
    print(f"saved {run.save(out)}")
    print(f"images_per_s={rate:.1f}")
    return 0
