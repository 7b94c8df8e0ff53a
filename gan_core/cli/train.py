"""`python -m gan_core train`: flags generated from the ModelConfig/TrainConfig fields (`z_dim` -> `--z-dim`), so
the CLI, the UI and the configs cannot drift; one Run, resumed and saved by its own `resume()` / `save()`.

Under `torchrun` (RANK/WORLD_SIZE/LOCAL_RANK set) the same command trains with DDP (training/distributed.py):
every check that can fail on bad input runs before the process group is joined, so a bad flag is one line and
nothing is written; then rank 0 alone prints progress and writes the checkpoint. `--config run.json` (the file
the Train page downloads) supplies any setting not given as a flag."""
from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from gan_core.cli.launch import HIDDEN_TRAIN as _HIDDEN_TRAIN
from gan_core.cli.launch import flag as _flag
from gan_core.cli.launch import read_run_file
from gan_core.config import DEVICES, PRESETS, ConfigError, ModelConfig, TrainConfig, with_preset

_CHOICES = {"preset": PRESETS, "device": DEVICES}


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
                   "shared with other busy processes, 1 is often much faster than 2. Under torchrun: per rank")
    t.add_argument("--config", help="settings file (run.json from the Train page); flags given here win")
    t.add_argument("--dist-timeout", type=float, default=300.0, metavar="S",
                   help="under torchrun: seconds a collective waits for the other ranks before failing")
    t.set_defaults(handler=cmd_train)
    return t


def _given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of `cls` set by a flag, else by the --config file (flags win)."""
    from_file = read_run_file(args.config) if getattr(args, "config", None) else {}
    given = {f.name: from_file[f.name] for f in dataclasses.fields(cls) if f.name in from_file}
    given.update({f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                  if getattr(args, f.name, None) is not None})
    return given


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    from gan_core.training.devices import device_defaults, resolve_device

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


def _check_resume_model(args: argparse.Namespace, model_cfg: ModelConfig) -> None:
    """A resumed run keeps its checkpoint's model: a model flag that disagrees is an error, not silently dropped."""
    for name, value in _given(args, ModelConfig).items():
        if getattr(model_cfg, name) != value:
            raise ConfigError(f"{args.resume} holds a {model_cfg.preset} model with {name}={getattr(model_cfg, name)}"
                              f"; {_flag(name)} {value} cannot change it when resuming (drop the flag, or start a "
                              "new run without --resume)")


def _open_run(args: argparse.Namespace, command: str):
    """Configs (from the flags, or the checkpoint's with the flags on top), data, Trainer, Run; resumed if asked.
    Under torchrun every input check runs first; the process group is joined last, before building the Trainer."""
    from gan_core.data.datasets import check_shards, load_images
    from gan_core.training import distributed
    from gan_core.checkpoints.store import NoTrainingState, load_generator
    from gan_core.training.resume import read_resume_point
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer
    from gan_core.training.devices import resolve_device

    point, warm = None, None
    if args.resume:
        try:
            point = read_resume_point(args.resume)
        except NoTrainingState:            # a foreign or sample-only checkpoint: G from its weights, D fresh
            warm = load_generator(args.resume)
            print(f"note: {args.resume} ({warm.description}) has no discriminator or training state: G continues "
                  "from its weights, D starts fresh at step 0", file=sys.stderr)
    model_cfg, train_cfg = point.configs(_given(args, TrainConfig)) if point else configs_from_args(args)
    if point:
        _check_resume_model(args, model_cfg)
    if warm is not None:
        model_cfg = warm.config
    device = resolve_device(train_cfg.device)
    ranks = distributed.env_ranks()
    if train_cfg.sync_bn and ranks is None:
        raise ConfigError("--sync-bn needs several processes started by torchrun (e.g. torchrun --nproc-per-node 2 "
                          "-m gan_core train ...)" + ("; this checkpoint was trained with it: add --no-sync-bn"
                                                      if point else ""))
    if ranks is not None:
        device = distributed.rank_device(device, ranks[1])
        if not 1 <= args.dist_timeout <= 86_400:
            raise ConfigError(f"--dist-timeout must be between 1 and 86400 seconds, got {args.dist_timeout:g}")
    _set_threads(args.threads)
    data = load_images(train_cfg.dataset, image_size=model_cfg.image_size, channels=model_cfg.channels)
    world = ranks[2] if ranks else 1
    check_shards(len(data.images), batch_size=train_cfg.batch_size, world_size=world)
    ctx = distributed.start(device, timeout_s=args.dist_timeout) if ranks else None
    trainer = Trainer(model_cfg, train_cfg, images=data.images, device=device, dist=ctx)
    run = Run(trainer, dataset=data.name, command=command)
    if point is not None:
        run.resume(point)
    elif warm is not None:
        run.trainer.G.load_state_dict(warm.generator.state_dict())
    return run, data


def _first_line(run, data) -> str:
    from gan_core.training.devices import describe_device

    t, m, c = run.trainer, run.trainer.model_cfg, run.trainer.cfg
    skipped = f", skipped {data.skipped_total}" if data.skipped_total else ""
    amp = "bf16" if t.device.type == "cuda" and c.amp else "off"
    fast = f" fast_cpu_layers={t.fast_cpu_layers}" if t.fast_cpu_layers else ""
    return (f"device={describe_device(t.device)} data={data.name} images={len(data.images)}{skipped} "
            f"preset={m.preset} size={m.image_size}x{m.image_size}x{m.channels} z_dim={m.z_dim} "
            f"widths={m.g_width}/{m.d_width} batch={t.batch_size} steps={t.total_steps} ({t.steps_per_epoch}/epoch) "
            f"lr_g={c.lr_g:g} lr_d={c.lr_d:g} amp={amp}{fast}" + _world(run))


def _world(run) -> str:
    t = run.trainer
    if t.dist is None:
        return ""
    sync = " sync_bn" if t.cfg.sync_bn else ""
    return f" world_size={t.world_size} global_batch={t.batch_size * t.world_size} backend={t.dist.backend}{sync}"


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
    from gan_core.training import distributed

    try:
        run, data = _open_run(args, _launch_prefix() + shlex.join(list(argv)))
        return _train(run, data, args)
    finally:
        distributed.stop()


def _launch_prefix() -> str:
    """How this process was started, for the model card: python, or torchrun with its node/process counts."""
    world, local = os.environ.get("WORLD_SIZE"), os.environ.get("LOCAL_WORLD_SIZE")
    if not world:
        return "python -m gan_core "
    if local and local.isdigit() and world.isdigit() and int(local) > 0:
        return f"torchrun --nnodes {max(int(world) // int(local), 1)} --nproc-per-node {local} -m gan_core "
    return f"torchrun (world size {world}) -m gan_core "


def _train(run, data, args: argparse.Namespace) -> int:
    """Step to the end and save. Under DDP only rank 0 prints and writes; a failed collective is one line."""
    from tqdm.auto import tqdm

    from gan_core.training.distributed import failure_message
    from gan_core.training.trainer import TrainingDiverged

    t = run.trainer
    main = t.rank == 0
    out = Path(args.out or f"runs/{t.model_cfg.preset}-{data.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if main:
        print(_first_line(run, data), flush=True)
    show_bar = main and not args.quiet
    bar = tqdm(total=t.total_steps, initial=t.step_count, unit="step", file=sys.stderr) if show_bar else None
    try:
        _advance_all(run, bar)
    except TrainingDiverged as exc:  # metrics are all-reduced, so every rank raises at the same step
        if main:
            print(f"error: {exc}. Last good checkpoint: {run.save(out)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if t.dist is None:  # under DDP a flush is a collective the other ranks may never join
            run.flush()
        if main:
            print(f"interrupted at step {t.step_count}; saved {run.save(out)}", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # a collective failed: another rank died or timed out
        if t.dist is None:
            raise
        print(f"error: {failure_message(exc, t.dist)}", file=sys.stderr, flush=True)
        # The group is broken: leaving it (destroy_process_group, or the interpreter's exit) can abort in gloo's
        # C++ teardown ("terminate called without an active exception": SIGABRT, exit -6) instead of exiting 1.
        # This rank has nothing left to save or flush, so it leaves at once.
        if bar is not None:
            bar.close()
        sys.stdout.flush()
        os._exit(1)
    finally:
        if bar is not None:
            bar.close()
    rate = run.steady_images_per_s()   # global under DDP: rank 0's steps x the global batch
    if main:
        print(f"saved {run.save(out)}")
        print(f"images_per_s={rate:.1f}")
    return 0
