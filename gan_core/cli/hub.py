"""`python -m gan_core push`: upload a checkpoint folder to the Hugging Face Hub."""
from __future__ import annotations

import argparse


def add_push_parser(sub: argparse._SubParsersAction) -> None:
    pu = sub.add_parser("push", help="upload a checkpoint folder to the Hugging Face Hub")
    pu.add_argument("--checkpoint", required=True)
    pu.add_argument("--repo-id", required=True, help="USER/NAME")
    pu.add_argument("--private", action="store_true")
    pu.add_argument("--token", help="default: HF_TOKEN or the saved login")
    pu.set_defaults(handler=cmd_push)


def cmd_push(args: argparse.Namespace) -> int:
    from gan_core.checkpoints.store import push_checkpoint

    print(push_checkpoint(args.checkpoint, args.repo_id, private=args.private, token=args.token))
    return 0
