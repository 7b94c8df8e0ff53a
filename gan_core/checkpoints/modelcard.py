"""The model card (README.md) of a checkpoint: YAML metadata the Hub reads, then data, preset, hyperparameters,
steps, the command that made it, the sample grid and any recorded scores."""
from __future__ import annotations

from typing import Any

_MODEL_KEYS = ("preset", "image_size", "channels", "z_dim", "g_width", "d_width")
_TRAIN_KEYS = ("epochs", "max_steps", "batch_size", "lr_g", "lr_d", "beta1", "beta2", "g_steps", "d_steps",
               "label_smoothing", "seed", "hflip", "loss", "augment", "ema_decay", "spectral_norm")


def model_card(info: dict[str, Any], *, command: str | None = None, has_samples: bool = True) -> str:
    name = info.get("name") or f"{info.get('preset', 'dcgan')} on {info.get('dataset') or 'unknown data'}"
    lines = [
        "---", "library_name: dcgan-studio", "pipeline_tag: unconditional-image-generation",
        "tags:", "- dcgan", "- gan", "- pytorch_model_hub_mixin", "- model_hub_mixin", "---", "",
        f"# {name}", "",
        "A DCGAN generator made with DCGAN Studio. It maps a latent vector z ~ N(0, I) of "
        f"{info.get('z_dim')} dimensions to a {info.get('image_size')}x{info.get('image_size')} "
        f"{'greyscale' if info.get('channels') == 1 else 'colour'} image in [-1, 1].", "",
        "## Training", "",
        f"- Data: `{info.get('dataset')}`", f"- Steps: {info.get('steps')}",
    ]
    if info.get("trained_on"):
        lines.append(f"- Trained on: {info['trained_on']}")
    if info.get("generator_weights") == "ema":
        lines.append(f"- Weights: the exponential moving average (EMA) of the generator, decay "
                     f"{info.get('ema_decay')} (the raw generator is in `training/`)")
    lines += ["", "| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {info[k]} |" for k in _MODEL_KEYS if k in info]
    train = info.get("train") or {}
    lines += [f"| {k} | {train[k]} |" for k in _TRAIN_KEYS if k in train]
    if command:
        lines += ["", "Made with:", "", "```bash", command, "```"]
    if has_samples:
        lines += ["", "## Samples (fixed noise)", "", "![samples](samples.png)"]
    if info.get("scores"):
        lines += ["", "## Scores", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
                  for k, v in info["scores"].items()]
    if info.get("notes"):
        lines += ["", "## Notes", "", str(info["notes"])]
    lines += ["", "## Use", "", "```python", "from gan_core.checkpoints.store import load_generator",
              "from gan_core.sampling import images_from_seeds", "",
              "g = load_generator('PATH_OR_REPO_ID').generator", "images = images_from_seeds(g, [1, 2, 3])",
              "```", "", "or, with only huggingface_hub and this repo's `gan_core.models`: "
              "`Generator.from_pretrained('PATH_OR_REPO_ID')`.", ""]
    return "\n".join(lines)
