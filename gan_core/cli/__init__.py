"""`python -m gan_core train|sample|interpolate|push|eval`: argparse over the same functions the UI calls.

One module per command group: train.py, generate.py (sample, interpolate), hub.py (push), evaluate.py (eval).
Errors a user can fix are one line on stderr and exit 2, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from gan_core.cli.evaluate import add_eval_parser
from gan_core.cli.generate import add_generate_parsers
from gan_core.cli.hub import add_push_parser
from gan_core.cli.train import add_train_parser, cmd_train
from gan_core.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_core", description="DCGAN Studio engine")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_generate_parsers(sub)
    add_push_parser(sub)
    add_eval_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.handler is cmd_train:
            return cmd_train(args, argv)
        return args.handler(args)
    except (UserError, ValueError, OSError) as exc:   # UserError: config, data, archive, checkpoint
        _print_error(exc)
        return 2
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError, without importing torch for --help
        if type(exc).__name__ != "OutOfMemoryError":
            raise
        print("error: the GPU ran out of memory: lower --batch-size, the widths or --image-size", file=sys.stderr)
        return 1


def _print_error(exc: BaseException) -> None:
    """One line on stderr. Under torchrun every rank checks the same input: one line per node (local rank 0),
    naming the rank when it is not rank 0 (a node whose data folder is missing says so)."""
    if os.environ.get("LOCAL_RANK", "0") != "0":
        return
    rank = os.environ.get("RANK", "0")
    print(f"error: {'' if rank == '0' else f'[rank {rank}] '}{exc}", file=sys.stderr)
