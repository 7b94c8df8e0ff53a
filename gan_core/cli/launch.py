"""From a run's configs to a cluster: the `train` flags for a ModelConfig/TrainConfig, the `torchrun` commands
(1 node x N GPUs, N nodes with c10d rendezvous) and the `run.json` settings file that `train --config` reads.

Every flag is derived from the dataclass fields (`flag()`, the same rule cli/train.py builds its parser with),
so a field added to a config reaches the parser, the command and the settings file at once. Torch-free: the
app's Train page imports it.
"""
from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import Any

from gan_core.config import ConfigError, ModelConfig, TrainConfig

RUN_FILE_FORMAT = "dcgan-studio-run/1"
HIDDEN_TRAIN = frozenset({"metrics_every"})  # no flag (run.json may still set it)
DEFAULT_PORT = 29500                         # torchrun's usual rendezvous port


def flag(name: str) -> str:
    """A config field's command-line flag: z_dim -> --z-dim."""
    return "--" + name.replace("_", "-")


def _value(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)   # repr: the shortest text that parses back to v


def train_argv(model: ModelConfig, train: TrainConfig, *, out: str | None = None) -> list[str]:
    """`train` and one flag per config field (every hyperparameter, booleans as --x / --no-x), then --out."""
    argv = ["train"]
    for cfg in (model, train):
        for f in dataclasses.fields(cfg):
            if f.name in HIDDEN_TRAIN:
                continue
            v = getattr(cfg, f.name)
            if isinstance(v, bool):
                argv.append(flag(f.name) if v else "--no-" + f.name.replace("_", "-"))
            else:
                argv += [flag(f.name), _value(v)]
    if out:
        argv += ["--out", out]
    return argv


def torchrun_argv(*, nproc_per_node: int, nnodes: int = 1, endpoint: str | None = None,
                  run_id: str = "dcgan-studio") -> list[str]:
    """The launcher part: standalone on one node; several nodes meet at `endpoint` (host:port) via c10d."""
    if not 1 <= nproc_per_node <= 1024 or not 1 <= nnodes <= 10_000:
        raise ConfigError("processes per node and nodes must be positive")
    if nnodes == 1:
        return ["torchrun", "--standalone", "--nproc-per-node", str(nproc_per_node)]
    if not endpoint:
        raise ConfigError("several nodes need a rendezvous endpoint host:port (the first node's address)")
    return ["torchrun", "--nnodes", str(nnodes), "--nproc-per-node", str(nproc_per_node), "--rdzv-backend", "c10d",
            "--rdzv-endpoint", endpoint, "--rdzv-id", run_id]


def shell_command(argv: list[str], *, width: int = 78) -> str:
    """argv quoted for a POSIX shell, wrapped with backslash-newlines at flag boundaries to about `width`."""
    lines, line = [], ""
    for word in argv:
        token = shlex.quote(word)
        if line and word.startswith("-") and len(line) + len(token) + 1 > width:
            lines.append(line)
            line = "  " + token
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return " \\\n".join(lines)


def torchrun_command(model: ModelConfig, train: TrainConfig, *, out: str, nproc_per_node: int, nnodes: int = 1,
                     endpoint: str | None = None, run_id: str = "dcgan-studio") -> str:
    """The whole command for these settings, ready to paste (the same on every node for nnodes > 1)."""
    launcher = torchrun_argv(nproc_per_node=nproc_per_node, nnodes=nnodes, endpoint=endpoint, run_id=run_id)
    return shell_command(launcher + ["-m", "gan_core"] + train_argv(model, train, out=out))


def run_file(model: ModelConfig, train: TrainConfig) -> str:
    """The settings as the JSON `python -m gan_core train --config run.json` reads (flags given win)."""
    return json.dumps({"format": RUN_FILE_FORMAT, "model": model.to_dict(), "train": train.to_dict()}, indent=2)


def read_run_file(path: str | Path) -> dict[str, Any]:
    """run.json -> {field: value} over ModelConfig and TrainConfig fields; ConfigError naming what is wrong."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file {p}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{p} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FILE_FORMAT:
        raise ConfigError(f"{p} is not a DCGAN Studio settings file (expected \"format\": \"{RUN_FILE_FORMAT}\")")
    values: dict[str, Any] = {}
    for section, cls in (("model", ModelConfig), ("train", TrainConfig)):
        part = data.get(section, {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(part) - names) if isinstance(part, dict) else ["(not an object)"]
        if unknown:
            raise ConfigError(f"{p}: unknown {section} setting(s) {', '.join(unknown)}")
        values.update(part)
    return values
