"""`python -m gan_core eval`: score a checkpoint (FID / KID / IS / the offline digits score) from the shell.

Progress goes to stderr; stdout ends with one JSON object on its last line mapping metric names to numbers
(null for a metric that could not run here, whose one-line reason is printed on stderr). Exit 0 when at least
one metric was computed, 2 when none could be.
"""
from __future__ import annotations

import argparse
import json
import sys

_KEYS = {"fid": ("fid",), "kid": ("kid_mean", "kid_std"), "is": ("is_mean", "is_std")}


def add_eval_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    e = subparsers.add_parser("eval", help="score a checkpoint: FID, KID, IS, and the offline digits score",
                              description="Score a generator. The digits score uses our own classifier and works "
                                          "offline; FID/KID/IS download Inception-v3 weights (91 MB) once.")
    e.add_argument("--checkpoint", required=True,
                   help="folder, bundled name, or Hub repo id[@revision][:file]: a DCGAN Studio checkpoint, a HugGAN "
                        "DCGAN or pytorch/examples netG_epoch_N.pth")
    e.add_argument("--dataset", default="digits", help="digits, mnist, fashion-mnist, cifar10, or a folder/.zip "
                                                       "of images (the real images for FID/KID)")
    e.add_argument("--n", type=int, default=1000, help="generated (and real) images to score (default 1000)")
    e.add_argument("--metrics", default="auto", help="comma list of fid,kid,is,digits (default: fid,kid,is, "
                                                     "plus digits when --dataset is digits)")
    e.add_argument("--seed", type=int, default=0, help="seed of the noise stream and the real-image draw")
    e.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    e.add_argument("--quiet", action="store_true", help="no progress lines")
    e.add_argument("--record", action="store_true", help="also write the scores into the checkpoint's config.json "
                                                         "and model card (local folders and bundled names only)")
    e.set_defaults(handler=cmd_eval)
    return e


class _Bars:
    """The evaluate() progress callback as tqdm bars on stderr: one bar per stage (a new stage closes the last);
    downloads count bytes (tqdm scales them to MB). Plain lines, not redraws, when stderr is not a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.stage, self.bar = quiet, None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            from tqdm import tqdm         # here, not at the top: `python -m gan_core --help` stays quick

            self.close()
            in_bytes = stage.startswith("downloading")
            self.stage = stage
            self.bar = tqdm(total=total or None, desc=stage, file=sys.stderr, unit="B" if in_bytes else (" images" if total > 1 else " step"),
                            unit_scale=in_bytes, mininterval=0.5 if sys.stderr.isatty() else 5.0,
                            dynamic_ncols=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_eval(args: argparse.Namespace) -> int:
    from gan_core.evaluation.evaluate import evaluate, parse_metrics
    from gan_core.training.devices import resolve_device

    chosen = parse_metrics(args.metrics, dataset=args.dataset)
    device = resolve_device(args.device)
    bars = _Bars(args.quiet)
    try:
        result = evaluate(args.checkpoint, dataset=args.dataset, n=args.n, metrics=chosen, seed=args.seed,
                          device=device, progress=bars)
    finally:
        bars.close()
    for reason in dict.fromkeys(result.unavailable.values()):
        print(f"unavailable ({', '.join(m for m, r in result.unavailable.items() if r == reason)}): {reason}",
              file=sys.stderr)
    values: dict[str, float | None] = dict(result.values)
    for m in result.unavailable:
        values.update({k: None for k in _KEYS.get(m, (m,))})
    if not args.quiet:
        print(f"scored {args.n} images of {args.checkpoint} in {result.seconds:.1f} s", file=sys.stderr)
    if args.record and result.values:
        _record(args, result.values)
    print(json.dumps(values, sort_keys=True))
    return 0 if result.values else 2


def _record(args: argparse.Namespace, values: dict[str, float]) -> None:
    from pathlib import Path

    from gan_core.checkpoints.store import CheckpointError, bundled_checkpoints, read_config, resolve_source
    from gan_core.evaluation.evaluate import record_scores

    if not (Path(args.checkpoint).expanduser().is_dir() or args.checkpoint in bundled_checkpoints()):
        raise CheckpointError("--record writes into a local checkpoint folder; download a Hub checkpoint first")
    folder = resolve_source(args.checkpoint)
    _, info = read_config(folder)
    how = (f"python -m gan_core eval --checkpoint {args.checkpoint} --dataset {args.dataset} --n {args.n} "
           f"--metrics {','.join(m for m in ('fid', 'kid', 'is', 'digits') if any(k.startswith(m) for k in values))}"
           f" --seed {args.seed}")
    if any(k.startswith("digits") for k in values):
        how += " (digits_*: our digit classifier's features, not comparable with Inception FID/IS)"
    record_scores(folder, {**(info.get("scores") or {}), **values, "evaluated_with": how})
    print(f"recorded the scores in {folder / 'config.json'} and its README.md", file=sys.stderr)
