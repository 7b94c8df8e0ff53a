"""The Train page's Start button before the engine is loaded (torch-free), and the wait for the engine.

On a fresh server the first visitor may open Train while torch and the engine are still importing (seconds on a
small CPU). The page then draws its settings and this Start button first, from torch-free code, and fills in the
data preview, the estimate and the live panel once `load_engine()` returns; the real controls
(`ui/train/controls.py`) then replace this button in the same place. Pressing it early records the click like the
real button does; the next script run waits for the engine under a spinner that says so, then starts the run.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import public, state, warmup

START_REQUESTED = "train_start_requested"
DOWNLOADED_SOURCES = ("mnist", "fashion-mnist", "cifar10")


def request_start() -> None:
    # The button's callback only records the click: the run starts further down the same script run, with the
    # settings of *this* run (callback args would hold the previous run's values, e.g. a number just typed).
    state.set_values({START_REQUESTED: True})


def start_requested() -> bool:
    return bool(state.value(START_REQUESTED))


def data_expected(kind: str, detail: object) -> bool:
    """Whether `ui.train.data.load` should give images for this source, judged without decoding anything (the
    guess only sets the early button's state; the real controls follow the real load)."""
    if kind == "digits":
        return True
    if kind in DOWNLOADED_SOURCES:
        return state.source_loaded(kind)
    if kind == "upload":
        return bool(detail) and public.upload_error(list(detail)) is None
    if kind == "folder":
        return public.limits() is None and bool(detail) and Path(str(detail)).expanduser().exists()
    return False


def early_start_button(box, *, enabled: bool) -> None:
    """Draw "Start training" into `box` (an st.empty) as the real controls will, before the engine is imported."""
    with box.container():
        public.note("server")
        cols = st.columns([2, 1, 1, 1, 3])
        cols[0].button("Start training", type="primary", key="start_early", disabled=not enabled,
                       on_click=request_start, width="stretch",
                       help=None if enabled else "Choose data and valid settings first.")


def load_engine(data_box, wait_box) -> None:
    """Import torch and the Train page's engine modules (at once when already imported; else waiting for them,
    also for the warm-up thread's import in progress) under a spinner: in `wait_box` (an st.empty above the
    controls) when Start was pressed, else in the data box."""
    if warmup.train_ready():
        return
    if start_requested():
        with wait_box.container(), st.spinner("Starting: waiting for PyTorch and the training engine to finish "
                                              "loading (once per server start)…"):
            warmup.import_train()
        wait_box.empty()
        return
    with data_box, st.spinner("Loading PyTorch and the training engine (once per server start)…"):
        warmup.import_train()
