"""Which checkpoint format a folder (or a Hub repo's file list) holds, and turning each into a `dcgan` Generator.

Three formats load: this project's own folders (config.json with image_size/channels/z_dim + model.safetensors);
HugGAN DCGAN repos pushed with `PyTorchModelHubMixin` (config.json = {num_channels, latent_dim, hidden_size},
weights `model.<i>.<param>` in model.safetensors or, from older huggingface_hub, pytorch_model.bin); and
pytorch/examples' `netG_epoch_N.pth` (weights `main.<i>.<param>`). HugGAN's `model` and pytorch/examples' `main`
are the same `nn.Sequential` as our `dcgan` preset's `body`: ConvT(z, 8w, 4, 1, 0)+BN+ReLU, then ConvT(k4, s2, p1)
blocks halving the channels, then ConvT(w, C)+Tanh, so index i maps to `body.i` and the sizes follow from the
shapes: n transposed convs give a 4 * 2^(n-1) px image, the first weight is (z, top, 4, 4), the last (w, C, 4, 4).
`.bin`/`.pth` files are read only with torch.load(weights_only=True); every size is checked on the meta device
(and the file's size on disk) before anything is allocated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from gan_core.checkpoints.store import (CheckpointError, LoadedGenerator, load_generator_weights, read_config,
                                        read_config_json)
from gan_core.config import IMAGE_SIZES, ConfigError, ModelConfig
from gan_core.models import Generator, base_size, check_size

STUDIO, HUGGAN, EXAMPLES = "dcgan-studio", "huggan-dcgan", "pytorch-examples"
LABELS = {STUDIO: "DCGAN Studio checkpoint", HUGGAN: "HugGAN DCGAN", EXAMPLES: "pytorch/examples netG"}
SUPPORTED = ("supported: a DCGAN Studio checkpoint (config.json + model.safetensors), a HugGAN DCGAN "
             "(PyTorchModelHubMixin: config.json with latent_dim/num_channels/hidden_size + model.safetensors or "
             "pytorch_model.bin), or a pytorch/examples netG_epoch_N.pth")
EPOCH_FILE = re.compile(r"^netG_epoch_(\d+)\.pth$")
WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
MAX_WEIGHTS_BYTES = 256 << 20   # a 128 px dcgan at width 128 is ~200 MB in float32; anything larger is refused
HUGGAN_KEYS = ("num_channels", "latent_dim", "hidden_size")
STUDIO_OPTIONAL = ("README.md", "samples.png")
TRAINING_FILES = ("training/state.safetensors", "training/state.json")   # fetched only to resume or compare


@dataclass(frozen=True)
class Plan:
    """What to read: the detected format, the weights file, and small optional files worth fetching."""

    format: str
    weights: str
    extras: tuple[str, ...] = ()


def _foreign_kind(names: list[str], config: Any) -> str | None:
    """A short name for a known non-DCGAN layout (for the refusal message), or None."""
    if "model_index.json" in names:
        return "a diffusers pipeline (model_index.json)"
    if isinstance(config, dict):
        if "_diffusers_version" in config or "_class_name" in config:
            return f"a diffusers model ({config.get('_class_name', 'config.json')})"
        if "model_type" in config or "architectures" in config:
            return f"a transformers model ({config.get('model_type') or config.get('architectures')})"
        if any(k in config for k in ("w_dim", "mapping_kwargs", "synthesis_kwargs")):
            return "a StyleGAN"
    return None


def plan(names: list[str], config: Any, *, where: str, filename: str | None = None) -> Plan:
    """Pick the format from the top-level file names and config.json's content (None when there is none)."""
    if filename:
        if filename not in names:
            raise CheckpointError(f"{where} has no file {filename!r}")
        if not filename.endswith(WEIGHT_SUFFIXES):
            raise CheckpointError(f"{filename} is not a weights file (.pth, .pt, .bin or .safetensors)")
        return Plan(EXAMPLES, filename)
    foreign = _foreign_kind(names, config)
    if foreign:
        raise CheckpointError(f"{where} holds {foreign}, not a DCGAN this app can load; {SUPPORTED}")
    if isinstance(config, dict) and all(k in config for k in HUGGAN_KEYS):
        for weights in ("model.safetensors", "pytorch_model.bin"):
            if weights in names:
                return Plan(HUGGAN, weights, ("README.md",))
        raise CheckpointError(f"{where} has a HugGAN config.json but no model.safetensors or pytorch_model.bin")
    if config is not None:
        if isinstance(config, dict) and not any(k in config for k in ("image_size", "channels", "z_dim", "preset")):
            raise CheckpointError(f"{where}'s config.json is not a DCGAN config (keys {', '.join(list(config)[:4])}"
                                  f"); {SUPPORTED}")
        return Plan(STUDIO, "model.safetensors", STUDIO_OPTIONAL)   # read_config() names what is wrong with it
    epochs = sorted((int(m.group(1)), n) for n in names if (m := EPOCH_FILE.match(n)))
    if epochs:
        return Plan(EXAMPLES, epochs[-1][1])                        # the highest epoch wins
    others = [n for n in names if n.endswith((".pth", ".pt"))]
    hint = f" To load {others[0]}, name it: REPO:{others[0]} (or pick it as a .pth upload)." if others else ""
    if any(n.endswith(".pkl") for n in names):
        hint += " A .pkl (e.g. a StyleGAN network) is a pickle and is never opened."
    raise CheckpointError(f"{where} has no config.json and no netG_epoch_N.pth, so it is not a checkpoint this "
                          f"app can load ({SUPPORTED}).{hint}")


def _file_size_ok(file: Path) -> None:
    if not file.is_file():
        raise CheckpointError(f"{file.parent} has no {file.name}")
    size = file.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{file.name} is {size >> 20} MiB (limit {MAX_WEIGHTS_BYTES >> 20} MiB); a DCGAN "
                              "generator is far smaller")


def read_tensors(file: Path) -> dict[str, torch.Tensor]:
    """{name: tensor} from .safetensors, or from .pth/.pt/.bin via torch.load(weights_only=True) only."""
    from gan_core.checkpoints.pth_import import read_state_dict

    _file_size_ok(file)
    if file.suffix == ".safetensors":
        try:
            return load_file(str(file))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{file.name} is not a readable safetensors file ({exc})") from None
    return read_state_dict(file)


def infer_config(state: dict[str, torch.Tensor], *, where: str) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """`[module.](main|model).<i>.<p>` -> (a dcgan ModelConfig, `body.<i>.<p>` tensors), sizes from the shapes."""
    body, prefixes = {}, set()
    for key, value in state.items():
        k = key[len("module."):] if key.startswith("module.") else key
        prefix, _, rest = k.partition(".")
        if prefix not in ("main", "model") or not rest[:1].isdigit():
            raise CheckpointError(f"{where}: unexpected entry {key!r}; a DCGAN generator state dict has only "
                                  f"main.* (pytorch/examples) or model.* (HugGAN) weights; {SUPPORTED}")
        prefixes.add(prefix)
        body["body." + rest] = value
    convs = sorted((int(k.split(".")[1]), v) for k, v in body.items() if k.endswith(".weight") and v.ndim == 4)
    n = len(convs)
    size = 4 * 2 ** (n - 1) if n else 0
    if len(prefixes) != 1 or size not in IMAGE_SIZES or base_size(size) != 4:
        raise CheckpointError(f"{where}: {n} transposed convolutions do not make a DCGAN generator "
                              f"(3-6 expected, for 16-128 px); {SUPPORTED}")
    first, last = convs[0][1], convs[-1][1]          # ConvT weights are (in, out, k, k)
    try:
        cfg = ModelConfig(preset="dcgan", image_size=size, channels=int(last.shape[1]), z_dim=int(first.shape[0]),
                          g_width=int(last.shape[0]), d_width=int(last.shape[0])).validate()
        check_size(cfg)
    except ConfigError as exc:
        raise CheckpointError(f"{where}: the weights' shapes do not fit a DCGAN ({exc})") from None
    return cfg, body


def check_state(state: dict[str, torch.Tensor], *, where: str, hint: dict[str, Any] | None = None
                ) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(config, `body.*` tensors, the expected state on the meta device) when `state` is a DCGAN generator, else
    one CheckpointError. Uses shapes only, so `state` may hold meta tensors read from a file's header. `hint` is
    a HugGAN config.json, which must agree with the shapes."""
    cfg, body = infer_config(state, where=where)
    if hint is not None:
        said = (hint.get("latent_dim"), hint.get("hidden_size"), hint.get("num_channels"))
        if said != (cfg.z_dim, cfg.g_width, cfg.channels):
            raise CheckpointError(f"{where}: config.json says latent_dim/hidden_size/num_channels = {said} but the "
                                  f"weights have {(cfg.z_dim, cfg.g_width, cfg.channels)}")
    with torch.device("meta"):                       # shapes only: nothing allocated until everything fits
        expected = Generator(cfg).state_dict()
    for k, v in expected.items():                    # num_batches_tracked is absent from old saves: keep ours
        if k.endswith("num_batches_tracked") and k not in body:
            body[k] = torch.zeros((), dtype=torch.long)
    missing, extra = sorted(set(expected) - set(body)), sorted(set(body) - set(expected))
    wrong = [k for k in expected if k in body and body[k].shape != expected[k].shape]
    if missing or extra or wrong:
        what = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}" if extra else
                f"{wrong[0]} is {tuple(body[wrong[0]].shape)}, a DCGAN needs {tuple(expected[wrong[0]].shape)}")
        raise CheckpointError(f"{where}: the weights are not a DCGAN generator ({what.replace('body.', '')}); "
                              f"{SUPPORTED}")
    return cfg, body, expected


def generator_from_state(state: dict[str, torch.Tensor], *, where: str,
                         hint: dict[str, Any] | None = None) -> tuple[Generator, ModelConfig]:
    """A `dcgan` Generator carrying a HugGAN / pytorch/examples state dict (checked first), in eval mode."""
    cfg, body, expected = check_state(state, where=where, hint=hint)
    generator = Generator(cfg)
    generator.load_state_dict({k: body[k].to(v.dtype) for k, v in expected.items()}, strict=True)
    return generator.eval(), cfg


def header_state(file: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's names and shapes as meta tensors, from its header alone (no tensor data read)."""
    _file_size_ok(file)
    try:
        with safe_open(str(file), framework="pt") as f:
            names = list(f.keys())
            if len(names) > 1000:                 # a DCGAN has ~30 tensors
                raise CheckpointError(f"{file.name} holds {len(names)} tensors; not a DCGAN generator")
            return {k: torch.empty(f.get_slice(k).get_shape(), device="meta") for k in names}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{file.name} is not a readable safetensors file ({exc})") from None


def describe(fmt: str, cfg: ModelConfig, weights: str) -> str:
    """'HugGAN DCGAN, 64×64×3, z 100' (the pytorch/examples label names its file)."""
    label = LABELS[fmt] + (f" ({weights})" if fmt == EXAMPLES else "")
    return f"{label}, {cfg.image_size}×{cfg.image_size}×{cfg.channels}, z {cfg.z_dim}"


def top_level_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_file())


def load_folder(path: Path, *, source: str, filename: str | None = None,
                chosen: Plan | None = None) -> LoadedGenerator:
    """Detect the format of a local folder (or a downloaded snapshot) and load its generator, in eval mode."""
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a folder")
    config = read_config_json(path) if (path / "config.json").is_file() else None
    p = chosen or plan(top_level_files(path), config, where=str(path), filename=filename)
    if p.format == STUDIO:
        cfg, info = read_config(path)
        generator = Generator(cfg)
        load_generator_weights(generator, path / p.weights)
        generator.eval()
    else:
        hint = config if p.format == HUGGAN else None
        if p.weights.endswith(".safetensors"):      # names and shapes from the header before any data is read
            check_state(header_state(path / p.weights), where=p.weights, hint=hint)
        state = read_tensors(path / p.weights)
        generator, cfg = generator_from_state(state, where=p.weights, hint=hint)
        fmt = p.format if hint is not None else (
            HUGGAN if any(k.removeprefix("module.").startswith("model.") for k in state) else EXAMPLES)
        p = Plan(fmt, p.weights)
        info = {**cfg.to_dict(), "format": fmt, "weights_file": p.weights, "dataset": None, "steps": None}
    return LoadedGenerator(generator, cfg, info, path, source, format=p.format,
                           description=describe(p.format, cfg, p.weights))
