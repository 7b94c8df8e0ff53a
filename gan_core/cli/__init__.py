"""`python -m gan_core train|sample|interpolate|push|eval`: argparse over the same functions the UI calls.

Flags of `train` are generated from the ModelConfig/TrainConfig fields (`z_dim` -> `--z-dim`), so the CLI, the
UI and the configs cannot drift. Errors are one line on stderr and a non-zero exit, never a traceback.
"""
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_core", description="DCGAN Studio engine")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a DCGAN and save a checkpoint folder")
    _add_config_flags(t, ModelConfig)
    _add_config_flags(t, TrainConfig)
    t.add_argument("--out", help="checkpoint folder to write (default: runs/<preset>-<dataset>-<time>)")
    t.add_argument("--resume", help="checkpoint (folder, bundled name or Hub repo id) to continue from")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--threads", type=int, help="CPU threads for training (default: one per core). On a machine "
                   "shared with other busy processes, 1 is often much faster than 2")

    s = sub.add_parser("sample", help="generate images from a checkpoint")
    s.add_argument("--checkpoint", required=True, help="folder, bundled name, or Hub repo id[@revision]")
    s.add_argument("--seeds", help="e.g. 1,2,3 or 0-15")
    s.add_argument("--n", type=int, default=16, help="with --seed: this many consecutive seeds")
    s.add_argument("--seed", type=int, default=0, help="first seed when --seeds is not given")
    s.add_argument("--psi", type=float, default=1.0, help="truncation: scale z by this (0-1]")
    s.add_argument("--nrow", type=int, default=8)
    s.add_argument("--out", required=True, help="FILE.png (grid) or FILE.zip (one PNG per seed)")

    i = sub.add_parser("interpolate", help="images along a latent path between seeds")
    i.add_argument("--checkpoint", required=True)
    i.add_argument("--seeds", required=True, help="keyframe seeds A,B[,C...]")
    i.add_argument("--steps", type=int, default=16, help="frames per segment, endpoints included")
    i.add_argument("--mode", choices=("lerp", "slerp"), default="slerp")
    i.add_argument("--pingpong", action="store_true")
    i.add_argument("--duration-ms", type=int, default=100, help="GIF frame time")
    i.add_argument("--out", required=True, help="FILE.gif, FILE.png (strip) or FILE.zip")

    pu = sub.add_parser("push", help="upload a checkpoint folder to the Hugging Face Hub")
    pu.add_argument("--checkpoint", required=True)
    pu.add_argument("--repo-id", required=True, help="USER/NAME")
    pu.add_argument("--private", action="store_true")
    pu.add_argument("--token", help="default: HF_TOKEN or the saved login")

    try:
        from gan_core.cli.evaluate import add_eval_parser
    except ImportError:
        pass
    else:
        add_eval_parser(sub)
    return parser


def _given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
            if getattr(args, f.name, None) is not None}


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    from gan_core.training.trainer import device_defaults, resolve_device

    model_kw, train_kw = _given(args, ModelConfig), _given(args, TrainConfig)
    train_kw = {**device_defaults(resolve_device(train_kw.get("device", "auto"))), **train_kw}
    return with_preset(model_kw.pop("preset", "dcgan"), model=model_kw, train=train_kw)


def cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from gan_core.checkpoints.store import read_training_state, resolve_source, save_checkpoint
    from gan_core.data.datasets import load_images
    from gan_core.training.resume import configs_from_state, restore_training_state, training_state
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer, TrainingDiverged, describe_device, resolve_device
    import torch

    meta = None
    if args.resume:
        src = resolve_source(args.resume)
        tensors, meta = read_training_state(src)
        model_cfg, train_cfg = configs_from_state(meta)
        train_cfg = dataclasses.replace(train_cfg, **_given(args, TrainConfig)).validate()
    else:
        model_cfg, train_cfg = configs_from_args(args)
    device = resolve_device(train_cfg.device)
    if args.threads is not None:
        if not 1 <= args.threads <= 1024:
            raise ConfigError(f"--threads must be between 1 and 1024, got {args.threads}")
        torch.set_num_threads(args.threads)
    data = load_images(train_cfg.dataset, image_size=model_cfg.image_size, channels=model_cfg.channels)
    trainer = Trainer(model_cfg, train_cfg, images=data.images, device=device)
    run = Run(trainer)
    if meta is not None:
        from gan_core.checkpoints.store import load_generator_weights
        load_generator_weights(trainer.G, src / "model.safetensors")
        restore_training_state(run, tensors, meta)
    out = Path(args.out or f"runs/{model_cfg.preset}-{data.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    skipped = f", skipped {data.skipped_total}" if data.skipped_total else ""
    print(f"device={describe_device(device)} data={data.name} images={len(data.images)}{skipped} "
          f"preset={model_cfg.preset} size={model_cfg.image_size}x{model_cfg.image_size}x{model_cfg.channels} "
          f"z_dim={model_cfg.z_dim} widths={model_cfg.g_width}/{model_cfg.d_width} batch={trainer.batch_size} "
          f"steps={trainer.total_steps} ({trainer.steps_per_epoch}/epoch) lr_g={train_cfg.lr_g:g} "
          f"lr_d={train_cfg.lr_d:g} amp={'bf16' if device.type == 'cuda' and train_cfg.amp else 'off'}"
          f"{f' fast_cpu_layers={trainer.fast_cpu_layers}' if trainer.fast_cpu_layers else ''}",
          flush=True)
    command = "python -m gan_core " + shlex.join(list(argv))

    def save() -> Path:
        return save_checkpoint(out, generator=trainer.G, model_cfg=model_cfg, train_cfg=train_cfg,
                               steps=trainer.step_count, dataset=data.name,
                               samples_png=run.grids[-1].png if run.grids else None, command=command,
                               training_state=training_state(run), extra={"trained_on": describe_device(device)})

    bar = None
    if not args.quiet:
        from tqdm.auto import tqdm
        bar = tqdm(total=trainer.total_steps, initial=trainer.step_count, unit="step", file=sys.stderr)
    try:
        while not run.done:
            run.advance()
            if bar is not None:
                bar.update(1)
                if run.history and trainer.step_count % train_cfg.metrics_every == 0:
                    r = run.history[-1]
                    bar.set_postfix(loss_d=f"{r['loss_d']:.3f}", loss_g=f"{r['loss_g']:.3f}",
                                    d_x=f"{r['d_real']:.2f}", d_gz=f"{r['d_fake_before']:.2f}", refresh=False)
        run.flush()
    except TrainingDiverged as exc:
        if bar is not None:
            bar.close()
        path = save()
        print(f"error: {exc}. Last good checkpoint: {path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        run.flush()
        print(f"interrupted at step {trainer.step_count}; saved {save()}", file=sys.stderr)
        return 130
    rate = run.steady_images_per_s()
    if bar is not None:
        bar.close()
    path = save()
    print(f"saved {path}")
    print(f"images_per_s={rate:.1f}")
    return 0


def _write(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"wrote {out} ({len(data)} bytes)")


def cmd_sample(args: argparse.Namespace) -> int:
    from gan_core.checkpoints.store import load_generator
    from gan_core.export import grid_png, zip_pngs
    from gan_core.sampling import images_from_seeds, parse_seeds

    if not 0 < args.psi <= 1:
        raise ConfigError("--psi must be in (0, 1]")
    if args.n < 1 or args.n > 10_000:
        raise ConfigError("--n must be between 1 and 10000")
    seeds = parse_seeds(args.seeds) if args.seeds else list(range(args.seed, args.seed + args.n))
    if not seeds:
        raise ConfigError("no seeds given")
    g = load_generator(args.checkpoint).generator
    images = images_from_seeds(g, seeds, psi=args.psi)
    out = Path(args.out)
    if out.suffix.lower() == ".zip":
        _write(out, zip_pngs(images, [f"seed_{s:06d}.png" for s in seeds]))
    elif out.suffix.lower() == ".png":
        _write(out, grid_png(images, nrow=args.nrow))
    else:
        raise ConfigError("--out must end in .png (a grid) or .zip (one PNG per seed)")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from gan_core.checkpoints.store import load_generator
    from gan_core.export import gif_bytes, grid_png, zip_pngs
    from gan_core.latent import keyframe_path, z_from_seeds
    from gan_core.sampling import images_from_z, parse_seeds

    seeds = parse_seeds(args.seeds)
    if len(seeds) < 2:
        raise ConfigError("--seeds needs at least two keyframes, e.g. 3,7")
    if not 2 <= args.steps <= 512:
        raise ConfigError("--steps must be between 2 and 512")
    g = load_generator(args.checkpoint).generator
    path = keyframe_path(z_from_seeds(seeds, g.config.z_dim), args.steps, mode=args.mode, pingpong=args.pingpong)
    frames = images_from_z(g, path)
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix == ".gif":
        _write(out, gif_bytes(frames, duration_ms=args.duration_ms, scale=max(1, 128 // g.config.image_size)))
    elif suffix == ".png":
        _write(out, grid_png(frames, nrow=args.steps))
    elif suffix == ".zip":
        _write(out, zip_pngs(frames, [f"{args.mode}_{'-'.join(map(str, seeds))}_step_{k:03d}.png"
                                      for k in range(len(frames))]))
    else:
        raise ConfigError("--out must end in .gif, .png (a strip) or .zip")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from gan_core.checkpoints.store import push_checkpoint

    print(push_checkpoint(args.checkpoint, args.repo_id, private=args.private, token=args.token))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from gan_core.checkpoints.store import CheckpointError
    from gan_core.data.datasets import DataError
    from gan_core.data.decoding import ArchiveError

    try:
        if args.command == "train":
            return cmd_train(args, argv)
        if args.command == "eval":
            return args.handler(args)
        return {"sample": cmd_sample, "interpolate": cmd_interpolate, "push": cmd_push}[args.command](args)
    except (ConfigError, DataError, ArchiveError, CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError, without importing torch for --help
        if type(exc).__name__ != "OutOfMemoryError":
            raise
        print("error: the GPU ran out of memory: lower --batch-size, the widths or --image-size", file=sys.stderr)
        return 1
