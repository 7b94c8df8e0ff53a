"""Checkpoints in Hugging Face Hub layout: save (atomic), load (folder, bundled name, Hub repo id@revision), push.

A checkpoint folder holds config.json (ModelConfig + run facts), model.safetensors (generator), README.md
(model card), samples.png, and optionally training/ (discriminator, optimisers, RNG, fixed noise, history:
safetensors + JSON). Nothing is ever unpickled. A save writes a sibling temp folder and swaps it in with
renames, so a kill mid-save leaves the previous checkpoint intact (or recoverable as `.NAME.old-*`).
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from gan_core.config import ConfigError, ModelConfig, TrainConfig
from gan_core.errors import UserError
from gan_core.checkpoints.atomic import atomic_folder, recover
from gan_core.checkpoints.hub_checks import is_repo_id
from gan_core.data.datasets import data_home
from gan_core.limits import LimitError, is_public, refuse_server_path
from gan_core.models import Generator, check_size
from gan_core.checkpoints.modelcard import model_card

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "checkpoints"
HUB_FILES = ["config.json", "model.safetensors", "README.md", "samples.png"]


class CheckpointError(UserError):
    """A checkpoint cannot be found, read or trusted; the message says which and what to do."""


class NoTrainingState(CheckpointError):
    """The checkpoint has a generator but no training/ state (foreign formats never do): it samples, and a
    resumed run can only start its discriminator fresh."""


@dataclass
class LoadedGenerator:
    generator: Generator
    config: ModelConfig
    info: dict[str, Any]   # the whole config.json: run facts such as dataset, steps, train config
    path: Path
    source: str
    format: str = "dcgan-studio"   # dcgan-studio | huggan-dcgan | pytorch-examples (checkpoints/formats.py)
    description: str = ""          # what was detected, e.g. "HugGAN DCGAN, 64×64×3, z 100"


def bundled_checkpoints() -> list[str]:
    """Names of the checkpoints shipped in checkpoints/ (folders with a config.json), sorted."""
    if not BUNDLED_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_DIR.iterdir() if (p / "config.json").is_file())


def _refused(source: str) -> str | None:
    """Public mode: why a path outside the app's own folders is never opened (it can only be a Hub id)."""
    try:
        refuse_server_path(Path(source).expanduser(), allowed=(data_home(), BUNDLED_DIR))
    except LimitError as exc:
        return str(exc)
    return None


def _local(source: str) -> Path | None:
    """A local folder, a killed save's leftover, or a bundled name -> its folder; None when it is none of these."""
    local = Path(source).expanduser()
    refused = _refused(source)
    if refused is None and local.is_dir():
        return local
    if refused is None and local.parent.is_dir() and any(local.parent.glob(f".{glob.escape(local.name)}.old-*")):
        return recover(local)
    if source in bundled_checkpoints():
        return BUNDLED_DIR / source
    return None


def _hub_ref(source: str):
    """`user/name[@revision][:file]` -> a HubRef, or None when the source does not look like a repo id."""
    from gan_core.checkpoints.hub import parse_hub_source

    looks_like_path = source.startswith((".", "/", "~")) or "\\" in source
    ref = parse_hub_source(source)
    if ref is None or looks_like_path or not is_repo_id(ref.repo_id):
        return None
    if _refused(source) is None and Path(source).expanduser().exists():
        return None
    return ref


def _not_found(source: str) -> CheckpointError:
    refused = _refused(source)
    if refused is not None:
        return CheckpointError(refused)
    file = Path(source).expanduser()
    if file.is_file() and file.suffix in (".pth", ".pt", ".bin"):
        return NoTrainingState(f"{source} is a generator weights file: it has no training state (it samples, and "
                               "`train --resume` starts D fresh)")
    if file.is_file():
        return CheckpointError(f"{source} is a file; a checkpoint is a folder with config.json and "
                               "model.safetensors, or a netG .pth file")
    names = ", ".join(bundled_checkpoints()) or "none"
    return CheckpointError(f"no checkpoint {source!r}: not a folder, a bundled name ({names}) or a Hub repo id "
                           "(user/name[@revision][:file])")


def resolve_source(source: str, *, progress: Callable[[int, int, str], None] | None = None,
                   training: bool = True) -> Path:
    """A local folder, a bundled checkpoint name, or a Hub repo id with optional @revision -> a local folder
    (a Hub repo's files that its format needs are downloaded into the Hugging Face cache first; with
    `training`, also its training/ state, for resuming and for its history)."""
    source = str(source).strip()
    if not source:
        raise CheckpointError("no checkpoint given: name a folder, a bundled checkpoint or a Hub repo id")
    local = _local(source)
    if local is not None:
        return local
    ref = _hub_ref(source)
    if ref is None:
        raise _not_found(source)
    from gan_core.checkpoints.hub import download

    return download(ref, progress=progress, training=training)[0]


def read_config_json(path: Path) -> dict[str, Any]:
    """A checkpoint folder's config.json as a dict: at most 1 MiB, valid UTF-8 JSON, an object. The one reader
    (loading, the Home gallery, Evaluate); raises CheckpointError with one line otherwise."""
    cfg_file = Path(path) / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"{path} has no config.json, so it is not a DCGAN Studio checkpoint")
    if cfg_file.stat().st_size > 1 << 20:
        raise CheckpointError(f"{cfg_file} is larger than 1 MiB; refusing to read it")
    try:
        info = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"config.json is not valid JSON ({exc})") from None
    except RecursionError:  # "[[[[..." nested deeper than the parser's stack
        raise CheckpointError("config.json is not valid JSON (nested too deeply)") from None
    if not isinstance(info, dict):
        raise CheckpointError("config.json is not usable: config.json must hold a JSON object")
    return info


def read_config(path: Path) -> tuple[ModelConfig, dict[str, Any]]:
    """config.json -> (its ModelConfig, bounded and size-checked, and the whole mapping)."""
    info = read_config_json(path)
    try:
        cfg = ModelConfig.from_dict(info)
        check_size(cfg)
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"config.json is not usable: {exc}") from None
    return cfg, info


def load_generator_weights(generator: Generator, file: Path) -> None:
    """Strict load from safetensors: every tensor present, no extras, shapes equal to the config's."""
    if not file.is_file():
        raise CheckpointError(f"{file.parent} has no model.safetensors (the generator's weights)")
    expected = generator.state_dict()
    try:  # names and shapes from the header first: nothing is read into memory unless it all fits the config
        with safe_open(str(file), framework="pt") as f:
            shapes = {k: torch.Size(f.get_slice(k).get_shape()) for k in f.keys()}
        missing = sorted(set(expected) - set(shapes))
        extra = sorted(set(shapes) - set(expected))
        wrong = [k for k in expected if k in shapes and shapes[k] != expected[k].shape]
        if not (missing or extra or wrong):
            state = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"model.safetensors is not a readable safetensors file ({exc})") from None
    if missing or extra or wrong:
        detail = "; ".join(filter(None, [
            f"missing {', '.join(missing[:3])}" if missing else "", f"unexpected {', '.join(extra[:3])}" if extra else "",
            f"shape of {wrong[0]} is {tuple(shapes[wrong[0]])}, config needs {tuple(expected[wrong[0]].shape)}"
            if wrong else ""]))
        raise CheckpointError(f"the weights do not match config.json ({detail})")
    generator.load_state_dict(state, strict=True)


def load_generator(source: str | Path, *, device: str | torch.device = "cpu",
                   progress: Callable[[int, int, str], None] | None = None) -> LoadedGenerator:
    """One loader for every source: a folder, a bundled name, or a Hub `user/name[@revision][:file]`, in any of
    the formats of checkpoints/formats.py. The generator is returned in eval mode on `device`; `progress(done,
    total, file)` gets the bytes of a Hub download as they arrive."""
    from gan_core.checkpoints.formats import load_folder

    text = str(source).strip()
    local = _local(text) if text else None
    file = Path(text).expanduser() if text else None
    if local is not None:
        loaded = load_folder(local, source=text)
    elif file is not None and file.is_file() and file.suffix in (".pth", ".pt", ".bin"):
        loaded = load_folder(file.parent, source=text, filename=file.name)    # e.g. netG_epoch_24.pth on disk
    else:
        ref = _hub_ref(text) if text else None
        if ref is None:
            raise _not_found(text) if text else CheckpointError(
                "no checkpoint given: name a folder, a bundled checkpoint or a Hub repo id")
        from gan_core.checkpoints.hub import download

        folder, chosen = download(ref, progress=progress)
        loaded = load_folder(folder, source=text, chosen=chosen)
    loaded.generator.to(device).eval()
    return loaded


def save_checkpoint(out: str | Path, *, generator: Generator, model_cfg: ModelConfig,
                    train_cfg: TrainConfig | None = None, steps: int = 0, dataset: str | None = None,
                    samples_png: bytes | None = None, command: str | None = None,
                    training_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder atomically and return its path."""
    out = Path(out).expanduser().resolve()
    with atomic_folder(out) as tmp:
        info = {**model_cfg.to_dict(), "dataset": dataset, "steps": steps,
                "train": train_cfg.to_dict() if train_cfg else None, "format": "dcgan-studio/1", **(extra or {})}
        (tmp / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        state = {k: v.detach().contiguous().cpu() for k, v in generator.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        if samples_png:
            (tmp / "samples.png").write_bytes(samples_png)
        (tmp / "README.md").write_text(model_card(info, command=command, has_samples=bool(samples_png)))
        if training_state is not None:
            tensors, meta = training_state
            (tmp / "training").mkdir()
            save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()},
                      str(tmp / "training" / "state.safetensors"))
            (tmp / "training" / "state.json").write_text(json.dumps(meta))
    return out


def read_training_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    st, js = path / "training" / "state.safetensors", path / "training" / "state.json"
    if not (st.is_file() and js.is_file()):
        raise NoTrainingState(f"{path} has no training state (training/state.safetensors + state.json), so it "
                              "cannot be resumed; it can still be sampled")
    try:
        return load_file(str(st)), json.loads(js.read_text())
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"the training state in {path} is unreadable ({exc})") from None


def push_checkpoint(path: str | Path, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
    """Upload a checkpoint folder to the Hub (creating the repo); returns the repo URL."""
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    folder = resolve_source(str(path))
    read_config(folder)
    if not is_repo_id(repo_id):
        raise CheckpointError(f"{repo_id!r} is not a Hub repo id: use USER/NAME")
    if is_public() and not token:   # a shared server never publishes with its own (or a saved) token
        raise CheckpointError("publishing from this public server needs your own Hugging Face write token")
    api = HfApi(token=token if is_public() else (token or os.environ.get("HF_TOKEN")))
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                          allow_patterns=HUB_FILES + ["training/*"],
                          commit_message="Upload DCGAN Studio checkpoint")
    except hf_errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise CheckpointError("the Hub refused the token: use a token with write access (HF_TOKEN)") from None
        raise CheckpointError(f"the Hub refused the upload ({status or type(exc).__name__})") from None
    except (OSError, ValueError) as exc:
        if "token" in str(exc).lower():
            raise CheckpointError("no Hugging Face token: set HF_TOKEN or paste a write token") from None
        raise CheckpointError(f"could not reach the Hub to push ({type(exc).__name__}: offline?)") from None
    return str(url)
