"""The model card (README.md) of a checkpoint, written and read through `huggingface_hub.ModelCard`.

The YAML header is a `ModelCardData` carrying the Hub metadata (library_name, tags, pipeline_tag, license when
known); the body holds the data, preset, hyperparameters (keys taken from the config dataclasses' fields),
steps, the command that made it, the sample grid and any recorded scores. `card_body` gives the text without
the YAML header (the Explore page's card view) and `set_section` replaces or inserts one `## ` section (how
`record_scores` writes the Scores table), leaving the rest of the card byte for byte as it was.
"""
from __future__ import annotations

from typing import Any

import yaml
from huggingface_hub import ModelCard, ModelCardData

from gan_core.config import MODEL_KEYS, TRAIN_KEYS

LIBRARY_NAME = "dcgan-studio"
PIPELINE_TAG = "unconditional-image-generation"
# pytorch_model_hub_mixin/model_hub_mixin: what PyTorchModelHubMixin tags its repos with, so Generator's
# `from_pretrained` shows on the Hub as usable.
TAGS = ["dcgan", "gan", PIPELINE_TAG, "pytorch_model_hub_mixin", "model_hub_mixin"]
CARD_TRAIN_KEYS = tuple(k for k in TRAIN_KEYS if k != "dataset")   # dataset has its own line ("Data: ...")
SCORES, NOTES, USE = "## Scores", "## Notes", "## Use"


def card_data(info: dict[str, Any]) -> ModelCardData:
    """The YAML header: Hub metadata, plus the license and base dataset when the run's info names them."""
    return ModelCardData(library_name=LIBRARY_NAME, pipeline_tag=PIPELINE_TAG, tags=list(TAGS),
                         license=info.get("license") or None)


def score_table(scores: dict[str, Any]) -> list[str]:
    """A scores mapping -> markdown table lines; floats to 4 significant digits. The one score formatter."""
    rows = [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in scores.items()]
    return ["| metric | value |", "| --- | --- |", *rows]


def _settings_table(info: dict[str, Any]) -> list[str]:
    train = info.get("train") or {}
    rows = [f"| {k} | {info[k]} |" for k in MODEL_KEYS if k in info]
    rows += [f"| {k} | {train[k]} |" for k in CARD_TRAIN_KEYS if k in train]
    return ["| setting | value |", "| --- | --- |", *rows]


def _use_section() -> list[str]:
    return [USE, "", "```python", "from gan_core.checkpoints.store import load_generator",
            "from gan_core.sampling import images_from_seeds", "",
            "g = load_generator('PATH_OR_REPO_ID').generator", "images = images_from_seeds(g, [1, 2, 3])",
            "```", "", "or, with only huggingface_hub and this repo's `gan_core.models`: "
            "`Generator.from_pretrained('PATH_OR_REPO_ID')`.", ""]


def _body(info: dict[str, Any], *, command: str | None, has_samples: bool) -> list[str]:
    name = info.get("name") or f"{info.get('preset', 'dcgan')} on {info.get('dataset') or 'unknown data'}"
    colour = "greyscale" if info.get("channels") == 1 else "colour"
    lines = [f"# {name}", "",
             "A DCGAN generator made with DCGAN Studio. It maps a latent vector z ~ N(0, I) of "
             f"{info.get('z_dim')} dimensions to a {info.get('image_size')}x{info.get('image_size')} "
             f"{colour} image in [-1, 1].", "",
             "## Training", "", f"- Data: `{info.get('dataset')}`", f"- Steps: {info.get('steps')}"]
    if info.get("trained_on"):
        lines.append(f"- Trained on: {info['trained_on']}")
    if info.get("generator_weights") == "ema":
        lines.append(f"- Weights: the exponential moving average (EMA) of the generator, decay "
                     f"{info.get('ema_decay')} (the raw generator is in `training/`)")
    lines += ["", *_settings_table(info)]
    if command:
        lines += ["", "Made with:", "", "```bash", command, "```"]
    if has_samples:
        lines += ["", "## Samples (fixed noise)", "", "![samples](samples.png)"]
    if info.get("scores"):
        lines += ["", SCORES, "", *score_table(info["scores"])]
    if info.get("notes"):
        lines += ["", NOTES, "", str(info["notes"])]
    return lines + ["", *_use_section()]


def make_card(info: dict[str, Any], *, command: str | None = None, has_samples: bool = True) -> ModelCard:
    """A checkpoint's config.json mapping (+ the command that made it) -> its ModelCard."""
    body = "\n".join(_body(info, command=command, has_samples=has_samples))
    return ModelCard(f"---\n{card_data(info).to_yaml()}\n---\n\n{body}")


def model_card(info: dict[str, Any], *, command: str | None = None, has_samples: bool = True) -> str:
    """The README.md text for a checkpoint (see `make_card`)."""
    return str(make_card(info, command=command, has_samples=has_samples))


def card_body(text: str) -> str:
    """README.md text -> the card without its YAML header. A header the Hub's parser refuses is cut by hand."""
    try:
        return ModelCard(text, ignore_metadata_errors=True).text
    except (ValueError, yaml.YAMLError):       # yaml ships with huggingface_hub (it parses cards with it)
        return text.split("---", 2)[-1] if text.startswith("---") else text


def set_section(text: str, heading: str, lines: list[str], *, before: tuple[str, ...] = (NOTES, USE)) -> str:
    """Replace the `heading` section of a card (up to the next `## `) by heading + `lines`, or insert it before
    the first of `before` (else at the end). Every other line stays as it was."""
    rows = text.split("\n")
    heads = [i for i, line in enumerate(rows) if line.startswith("## ")]
    start = next((i for i in heads if rows[i].strip() == heading), None)
    if start is not None:
        end = next((i for i in heads if i > start), len(rows))
    else:
        start = end = next((i for i in heads if rows[i].strip() in before), len(rows))
    rows[start:end] = [heading, "", *lines, ""]
    return "\n".join(rows)
