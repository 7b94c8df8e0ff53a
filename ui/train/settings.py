"""The Train page's settings widgets: `*_ui()` functions draw them and return plain values or configs.

Widget values live under fixed session-state keys (set first by `defaults()`), so choosing a preset or a dataset
can change other widgets visibly through callbacks (`ui.state.set_values`). Learning rates are picked on a
log-spaced scale; a "same for both" toggle ties the D learning rate to G's. z-dim and epochs are sliders (epochs on
log-spaced stops) next to an exact typed field that owns the value, so presets and precise numbers still work.
"""
from __future__ import annotations

import dataclasses
import math

import streamlit as st

from gan_core.config import (IMAGE_SIZES, MODEL_KEYS as MODEL_FIELDS, PRESETS, TRAIN_KEYS as TRAIN_FIELDS, ConfigError,
                              ModelConfig, TrainConfig, preset_defaults)
from ui import state
from ui import public
from ui.train.recipe import recipe_ui

# 1, 1.5, 2, 3, 4, 5, 7 per decade from 1e-5 to 1e-2: about evenly spaced in log10 (steps of ~0.15)
LR_CHOICES = tuple(float(f"{m}e{e}") for e in (-5, -4, -3) for m in (1, 1.5, 2, 3, 4, 5, 7)) + (1e-2,)
SOURCES = {
    "digits": "digits: 4,000 built-in MNIST digits (offline)",
    "mnist": "MNIST (60,000 digits, downloads ~10 MB)",
    "fashion-mnist": "Fashion-MNIST (60,000 clothes, downloads ~30 MB)",
    "cifar10": "CIFAR-10 (50,000 colour photos, downloads ~170 MB)",
    "upload": "Upload a .zip or image files",
    "folder": "A folder of images on this computer",
}
SOURCE_CHANNELS = {"digits": 1, "mnist": 1, "fashion-mnist": 1, "cifar10": 3}
# 1-500 about evenly spaced in log10 (1, 1.5, 2, 3, 5, 7 per decade): a slider step is a similar ratio anywhere
EPOCH_STOPS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500)
DEFAULT_EPOCHS = 20  # digits: 62 steps/epoch; 10 epochs give rough digits, 20 clear ones, in ~1-3 min on a CPU

# Widget keys are the config field names; preset has its own select and the data source picks the dataset.
MODEL_KEYS = tuple(k for k in MODEL_FIELDS if k != "preset")
TRAIN_KEYS = tuple(k for k in TRAIN_FIELDS if k != "dataset")


def _nearest_lr(lr: float) -> float:
    return min(LR_CHOICES, key=lambda c: abs(c - lr) / c)


def _preset_values(preset: str) -> dict:
    """Widget values for a preset's published defaults (model and training fields it sets)."""
    d = preset_defaults(preset)
    values = {k: v for k, v in d.model.items() if k in MODEL_KEYS}
    values.update({k: v for k, v in d.train.items() if k in TRAIN_KEYS})
    for k in ("lr_g", "lr_d"):
        if k in values:
            values[k] = _nearest_lr(values[k])
    values["same_lr"] = values.get("lr_g") == values.get("lr_d")
    return values


def defaults() -> None:
    """First values of every settings widget (only keys not set yet): dcgan on built-in digits, 28 px."""
    m, t = ModelConfig(), TrainConfig()
    values = {"data_source": "digits", "preset": "dcgan", **m.to_dict(), **{k: getattr(t, k) for k in TRAIN_KEYS},
              "epochs": DEFAULT_EPOCHS, "sample_every": 25}
    values.update(_preset_values("dcgan"))
    state.init_values(values)


def _apply_preset() -> None:
    """on_change of the preset select: write its defaults into the widgets (the user sees them change)."""
    values = _preset_values(state.value("preset"))
    source = state.value("data_source")
    if "channels" not in values and source in SOURCE_CHANNELS:
        values["channels"] = SOURCE_CHANNELS[source]
    state.set_values(values)


def _apply_source() -> None:
    channels = SOURCE_CHANNELS.get(state.value("data_source"))
    if channels is not None:
        state.set_values({"channels": channels})


def data_source_ui() -> tuple[str, object]:
    """Returns (kind, detail): kind in SOURCES; detail = uploaded files (list) or folder path (str) or None."""
    kind = st.selectbox("Training images", list(public.train_sources(SOURCES)), format_func=SOURCES.get,
                        key="data_source", on_change=_apply_source)
    if kind == "upload":
        files = st.file_uploader(
            "A .zip of images, or several image files (PNG, JPEG, …)", accept_multiple_files=True,
            type=["zip", "png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"], key="data_upload")
        public.note("upload")
        return kind, files or []
    if kind == "folder":
        path = st.text_input("Folder (or .zip) path on the machine running the app", key="data_folder",
                             placeholder="~/Pictures/faces")
        return kind, path.strip()
    return kind, None


def _lr_select(label: str, key: str, help: str) -> float:
    return st.select_slider(label, options=LR_CHOICES, key=key, format_func=lambda v: f"{v:g}", help=help)


def _nearest_stop(value: int, stops: tuple[int, ...]) -> int:
    """The stop closest to `value` in log scale (epochs 1-500 are picked by ratio, not by difference)."""
    return min(stops, key=lambda s: abs(math.log(s) - math.log(max(1, value))))


def _slider_with_exact(label: str, key: str, *, stops: tuple[int, ...] | None = None, lo: int, hi: int,
                       exact_hi: int, help: str) -> int:
    """A slider (or a log-spaced select_slider over `stops`) and a typed exact field, kept equal.

    The exact field owns `key` (presets, recipes and tests set it); the slider under `key_slider` is set from it
    before it is drawn, and moving the slider writes the field through its callback."""
    slider_key = f"{key}_slider"
    exact = int(state.value(key))
    state.set_values({slider_key: _nearest_stop(exact, stops) if stops else min(max(exact, lo), hi)})
    copy = lambda: state.set_values({key: int(state.value(slider_key))})   # noqa: E731
    c1, c2 = st.columns([3, 1])
    with c1:
        if stops:
            st.select_slider(label, options=stops, key=slider_key, on_change=copy, help=help)
        else:
            st.slider(label, lo, hi, key=slider_key, step=1, on_change=copy, help=help)
    return int(c2.number_input(f"{label.split(' (')[0]}, exact", lo, exact_hi, key=key, step=1))


def preset_ui() -> str:
    """The architecture preset; choosing one writes its published defaults into the widgets below."""
    preset = st.selectbox("Architecture preset", PRESETS, key="preset", on_change=_apply_preset,
                          help="Choosing a preset sets z-dim, widths, learning rates, betas, G:D steps and batch.")
    applied = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in _preset_values(preset).items() if k != "same_lr")
    st.caption(f"**{preset}** — {preset_defaults(preset).summary}  \nPreset defaults: {applied}")
    return preset


def architecture_ui() -> dict:
    """image_size, channels, z_dim, g_width, d_width, g_refine."""
    c1, c2, c3, c4 = st.columns(4)
    out = {"image_size": c1.selectbox("Image size (px)", IMAGE_SIZES, key="image_size"),
           "channels": c2.selectbox("Channels", (1, 3), key="channels",
                                    format_func=lambda c: "1 (greyscale)" if c == 1 else "3 (colour)"),
           "g_width": c3.number_input("G width (ngf)", 4, 1024, key="g_width", step=4,
                                      help="Channels of the generator's last block (the tutorial's ngf)."),
           "d_width": c4.number_input("D width (ndf)", 4, 1024, key="d_width", step=4,
                                      help="Channels of the discriminator's first block (the tutorial's ndf).")}
    out["z_dim"] = _slider_with_exact("z-dim (noise size)", "z_dim", lo=2, hi=512, exact_hi=1024,
                                      help="Length of the noise vector z (the tutorial's nz). DCGAN: 100.")
    c5, _ = st.columns([1, 3])
    out["g_refine"] = c5.number_input(
        "G refine blocks", 0, 4, key="g_refine", step=1,
        help="3×3 conv + BatchNorm + ReLU blocks in G at its smallest feature map (7×7 at 28 px). 1 (the dcgan "
             "default) draws cleaner digits in a short run (BENCHMARKS.md \"Quality\": the default run's FD 15.5 "
             "-> 11.8) for about 1.1x the time on 2 CPU cores; 0 is Radford et al.'s generator. dcgan and roadsign "
             "only.")
    return out


def schedule_ui() -> dict:
    """epochs (log-spaced stops + exact), batch_size, seed."""
    out = {"epochs": _slider_with_exact("Epochs (passes over the data)", "epochs", stops=EPOCH_STOPS, lo=1,
                                        hi=500, exact_hi=100_000, help="Log-spaced stops; type any number in the "
                                        "exact field. Built-in digits: 62 steps per epoch at batch 64.")}
    c1, c2 = st.columns([3, 1])
    out["batch_size"] = c1.select_slider("Batch size", (8, 16, 32, 64, 128, 256, 512), key="batch_size")
    out["seed"] = c2.number_input("Seed", 0, 2**31 - 1, key="seed", step=1)
    return out


def optimiser_ui() -> dict:
    """lr_g, lr_d (log scale, optionally tied), beta1, beta2, D and G steps per iteration, label smoothing."""
    if st.toggle("Same learning rate for G and D", key="same_lr"):
        lr_g = _lr_select("Learning rate (G and D)", "lr_g", "Adam step size, log scale. DCGAN: 2e-4.")
        lr_d = lr_g
    else:
        c1, c2 = st.columns(2)
        with c1:
            lr_g = _lr_select("Learning rate G", "lr_g", "Generator's Adam step size (log scale).")
        with c2:
            lr_d = _lr_select("Learning rate D", "lr_d", "Discriminator's Adam step size (log scale).")
    c1, c2, c3, c4 = st.columns(4)
    return {"lr_g": lr_g, "lr_d": lr_d,
            "beta1": c1.slider("Adam beta1", 0.0, 0.99, key="beta1", step=0.05, help="DCGAN uses 0.5 (not 0.9)."),
            "beta2": c2.select_slider("Adam beta2", (0.9, 0.99, 0.999, 0.9999), key="beta2"),
            "d_steps": c3.number_input("D steps per iteration", 1, 10, key="d_steps", step=1),
            "g_steps": c4.number_input("G steps per iteration", 1, 10, key="g_steps", step=1,
                                       help="The G:D step ratio; 'improved' uses 2 G steps per D step."),
            "label_smoothing": st.slider(
                "Label smoothing (real target = 1 - s)", 0.0, 0.5, key="label_smoothing", step=0.05,
                help="One-sided: D is trained towards 1 - s on real images; 0.1 calms a too-strong D.")}


def advanced_ui() -> dict:
    """max_steps, sample_every, device."""
    with st.expander("Advanced"):
        c1, c2, c3 = st.columns(3)
        return {"max_steps": c1.number_input("Max steps (0 = all epochs)", 0, 100_000_000, key="max_steps", step=10),
                "sample_every": c2.number_input("Sample grid every N steps", 1, 100_000, key="sample_every", step=5),
                "device": c3.selectbox("Device", ("auto", "cpu", "cuda", "mps"), key="device")}


FLOAT_FIELDS = ("lr_g", "lr_d", "beta1", "beta2", "label_smoothing", "ema_decay", "ada_target")


def _plain(values: dict) -> dict:
    """Widget values as the configs' types (number_input may hand back floats; select boxes give str/int)."""
    return {k: float(v) if k in FLOAT_FIELDS else v if isinstance(v, (str, bool)) else int(v)
            for k, v in values.items()}


def configs(preset: str, model: dict, train: dict) -> tuple[ModelConfig | None, TrainConfig | None, str | None]:
    """Plain widget values -> (ModelConfig, TrainConfig, None), or (None, None, the first error)."""
    try:
        return (ModelConfig(preset=preset, **_plain(model)).validate(), TrainConfig(**_plain(train)).validate(), None)
    except ConfigError as exc:
        return None, None, str(exc)


def model_ui() -> tuple[ModelConfig | None, TrainConfig | None, str | None]:
    """Preset, architecture and run settings -> (ModelConfig, TrainConfig, None) or (None, None, error), or
    (ModelConfig, None, None) when a recipe value is invalid (its reason is already shown under its widget)."""
    preset = preset_ui()
    model = architecture_ui()
    train = {**schedule_ui(), **optimiser_ui()}
    recipe = recipe_ui()   # None: a value is invalid and its reason is shown under that widget
    train.update(advanced_ui())
    model_cfg, train_cfg, error = configs(preset, model, {**train, **(recipe or {})})
    if recipe is None and model_cfg is not None:
        return model_cfg, None, None
    public.note("run")
    if model_cfg is not None and train_cfg is not None:   # public mode: sizes past the server's limits
        too_big = public.run_error(image_size=model_cfg.image_size, g_width=model_cfg.g_width,
                                   d_width=model_cfg.d_width, batch_size=train_cfg.batch_size)
        if too_big:
            return None, None, too_big
    return model_cfg, train_cfg, error


def with_dataset(train: TrainConfig, dataset: str) -> TrainConfig:
    return dataclasses.replace(train, dataset=dataset).validate()
