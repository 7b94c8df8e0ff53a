"""`python -m gan_core sample|interpolate`: images from a checkpoint's generator, as a PNG grid or strip, a ZIP of
PNGs, or a GIF; the same functions the Explore page calls, so its downloads and these files are byte-identical."""
from __future__ import annotations

import argparse
from pathlib import Path

from gan_core.config import ConfigError


def add_generate_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sample", help="generate images from a checkpoint")
    s.add_argument("--checkpoint", required=True,
                   help="folder, bundled name, or Hub repo id[@revision][:file]: a DCGAN Studio checkpoint, a HugGAN "
                        "DCGAN or pytorch/examples netG_epoch_N.pth")
    s.add_argument("--seeds", help="e.g. 1,2,3 or 0-15")
    s.add_argument("--n", type=int, default=16, help="with --seed: this many consecutive seeds")
    s.add_argument("--seed", type=int, default=0, help="first seed when --seeds is not given")
    s.add_argument("--psi", type=float, default=1.0, help="truncation: scale z by this (0-1]")
    s.add_argument("--nrow", type=int, default=8)
    s.add_argument("--out", required=True, help="FILE.png (grid) or FILE.zip (one PNG per seed)")

    i = sub.add_parser("interpolate", help="images along a latent path between seeds")
    i.add_argument("--checkpoint", required=True, help="as for sample")
    i.add_argument("--seeds", required=True, help="keyframe seeds A,B[,C...]")
    i.add_argument("--steps", type=int, default=16, help="frames per segment, endpoints included")
    i.add_argument("--mode", choices=("lerp", "slerp"), default="slerp")
    i.add_argument("--pingpong", action="store_true")
    i.add_argument("--duration-ms", type=int, default=100, help="GIF frame time")
    i.add_argument("--out", required=True, help="FILE.gif, FILE.png (strip) or FILE.zip")
    s.set_defaults(handler=cmd_sample)
    i.set_defaults(handler=cmd_interpolate)


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
    from gan_core.export import gif_bytes, gif_scale, grid_png, zip_pngs
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
        _write(out, gif_bytes(frames, duration_ms=args.duration_ms, scale=gif_scale(g.config.image_size)))
    elif suffix == ".png":
        _write(out, grid_png(frames, nrow=args.steps))
    elif suffix == ".zip":
        _write(out, zip_pngs(frames, [f"{args.mode}_{'-'.join(map(str, seeds))}_step_{k:03d}.png"
                                      for k in range(len(frames))]))
    else:
        raise ConfigError("--out must end in .gif, .png (a strip) or .zip")
    return 0
