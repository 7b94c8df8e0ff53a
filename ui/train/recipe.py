"""The Train page's small-data recipe widgets: loss, augmentation in front of D, generator EMA, spectral norm.

`recipe_ui()` draws them (first values from `TrainConfig`'s defaults, the same as `python -m gan_core train`),
checks them with `TrainConfig.validate()` and returns the four TrainConfig fields, or None after showing the
one-line reason under the widget at fault (the page then keeps Start disabled).
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from gan_core.config import LOSSES, ConfigError, TrainConfig
from ui import state

KEYS = ("loss", "augment", "ema_decay", "spectral_norm")
LOSS_LABELS = {
    "bce": "bce: non-saturating log loss (DCGAN)",
    "hinge": "hinge (SAGAN, BigGAN)",
    "ls": "ls: least squares (LSGAN)",
}
AUGMENT_LABELS = {
    "off": "off",
    "translation,cutout": "translation + cutout (DiffAugment)",
    "translation,cutout,color": "translation + cutout + colour (DiffAugment, RGB)",
    "translation": "translation only",
    "ada": "adaptive (ADA: p follows D's overfitting)",
}
HELP = {
    "loss": "bce is the DCGAN default; try hinge or ls when D's curves pin to 0/1 and G's loss explodes: they "
            "give G gradients that do not vanish when D is confident.",
    "augment": "For small datasets (under ~50k images): D sees randomly shifted / cut-out copies of real and "
               "generated images, so it cannot memorise the training set. ada turns it up only when D overfits.",
    "ema_decay": "Samples, saved weights and Explore use an exponential moving average of G: smoother, cleaner "
                 "images for free. 0.999 averages ~1,000 steps (with a warm-up); 0 = off.",
    "spectral_norm": "Divides each D layer's weights by their largest singular value: a smoother D that is "
                     "harder to overfit. Use it when D wins too early or training diverges.",
}


def _init() -> None:
    t = TrainConfig()
    augment = t.augment if t.augment in AUGMENT_LABELS else "off"
    state.init_values({"loss": t.loss, "augment": augment, "ema_decay": t.ema_decay,
                       "spectral_norm": t.spectral_norm})


def _problem(values: dict) -> tuple[str, str] | None:
    """(field, message) of the first invalid value, or None."""
    for name in KEYS:
        try:
            dataclasses.replace(TrainConfig(), **{name: values[name]}).validate()
        except ConfigError as exc:
            return name, str(exc)
    return None


def recipe_ui() -> dict | None:
    """Draw the recipe widgets; -> {loss, augment, ema_decay, spectral_norm} or None (a reason is shown)."""
    _init()
    st.markdown("**Small-data recipe** — what helps a GAN on a few thousand images")
    c1, c2 = st.columns(2)
    boxes = {}
    with c1:
        values = {"loss": st.selectbox("Loss", LOSSES, key="loss", format_func=LOSS_LABELS.get, help=HELP["loss"])}
        boxes["loss"] = st.container()
        values["ema_decay"] = st.number_input("EMA of G: decay (0 = off)", 0.0, 1.0, key="ema_decay", step=0.001,
                                              format="%.4f", help=HELP["ema_decay"])
        boxes["ema_decay"] = st.container()
    with c2:
        values["augment"] = st.selectbox("Augmentation in front of D", list(AUGMENT_LABELS), key="augment",
                                         format_func=AUGMENT_LABELS.get, help=HELP["augment"])
        boxes["augment"] = st.container()
        values["spectral_norm"] = st.toggle("Spectral norm on D", key="spectral_norm", help=HELP["spectral_norm"])
        boxes["spectral_norm"] = st.container()
    problem = _problem(values)
    if problem is not None:
        name, message = problem
        boxes[name].error(message)
        return None
    return {"loss": values["loss"], "augment": values["augment"], "ema_decay": float(values["ema_decay"]),
            "spectral_norm": bool(values["spectral_norm"])}
