"""Evaluate page, "Compare runs": two or more runs/checkpoints side by side: D(x)/D(G(z)) and loss curves
overlaid, collapse signals, latest sample grids in columns, and one table of hyperparameters and metrics."""
from __future__ import annotations

import streamlit as st

from ui.evaluate import state as evaluate_state
from ui.evaluate.figures import (PALETTE, compare_collapse_figure, compare_loss_figure,
                                 compare_probability_figure)
from ui.evaluate.sources import RunInfo, candidates, run_info

SCORE_KEYS = ("fid", "kid_mean", "is_mean", "digits_coverage", "digits_confident", "digits_score", "digits_fd",
              "digits_fd_floor")


def _add_typed() -> None:
    typed = st.session_state.get("compare_typed", "").strip()
    if typed:
        evaluate_state.remember_typed(typed)
        picked = st.session_state.get("compare_pick", [])
        if typed not in picked:
            st.session_state["compare_pick"] = picked + [typed]
    st.session_state["compare_typed"] = ""


def _short(info: RunInfo, i: int) -> str:
    """A short legend name: #1, #2 ... plus the tail of the label."""
    tail = info.label.split(" · ")[0].replace("this session's run ", "run ").replace("bundled: ", "")
    tail = tail if len(tail) <= 28 else "…" + tail[-27:]
    return f"#{i + 1} {tail}"


def _table(infos: list[RunInfo], names: list[str]) -> list[dict]:
    rows = []
    for info, name in zip(infos, names):
        last = info.history[-1] if info.history else {}
        row = {"run": name, **info.settings, "history rows": len(info.history),
               "last D(x)": last.get("d_real"), "last D(G(z))": last.get("d_fake_before")}
        row.update({k: info.scores.get(k) for k in SCORE_KEYS if info.scores.get(k) is not None})
        rows.append(row)
    return rows


def _picked(options: dict[str, str]) -> list[str]:
    """The multiselect of runs/checkpoints and the box that adds a typed one; returns the picked keys."""
    st.session_state["compare_pick"] = [k for k in st.session_state.get("compare_pick", []) if k in options]
    picked = st.multiselect("Runs or checkpoints (two or more)", list(options), key="compare_pick",
                            format_func=lambda k: options.get(k, k),
                            help="Your runs in this session and bundled checkpoints; add any checkpoint folder "
                                 "below. Curves need the training history a checkpoint keeps in training/.")
    st.text_input("Add a checkpoint folder or Hub repo id", key="compare_typed", on_change=_add_typed,
                  placeholder="checkpoints/my-run, then Enter")
    return picked


def _load(picked: list[str], options: dict[str, str]) -> tuple[list[RunInfo], list[str]]:
    """RunInfo and legend name of each picked source; one st.error line for each that cannot be read."""
    infos, names = [], []
    for key in picked:
        try:
            info = run_info(key)
        except (OSError, ValueError) as exc:    # CheckpointError (a UserError) is a ValueError
            st.error(f"{options.get(key, key)}: {exc}")
            continue
        infos.append(info)
        names.append(_short(info, len(infos) - 1))
    return infos, names


def _curves(infos: list[RunInfo], names: list[str]) -> None:
    """Notes on missing histories, then D(x)/D(G(z)), loss and collapse curves overlaid."""
    for info, name in zip(infos, names):
        if info.note:
            st.caption(f"{name}: {info.note}")
    histories = {name: info.history for info, name in zip(infos, names) if info.history}
    if not histories:
        return
    smoothing = st.slider("Curve smoothing (EMA weight)", 0.0, 0.99, 0.9, 0.01, key="compare_smoothing")
    st.plotly_chart(compare_probability_figure(histories, smoothing=smoothing), key="compare_prob")
    st.plotly_chart(compare_loss_figure(histories, smoothing=smoothing), key="compare_loss")
    collapse = compare_collapse_figure(histories)
    if collapse is not None:
        st.plotly_chart(collapse, key="compare_collapse")


def _grids(infos: list[RunInfo], names: list[str]) -> None:
    """Each run's latest fixed-noise grid in its own column, headed by its curve colour."""
    st.markdown("**Latest sample grids** (each run's fixed noise)")
    for i, (col, info, name) in enumerate(zip(st.columns(len(infos)), infos, names)):
        with col:
            st.markdown(f"<span style='color:{PALETTE[i % len(PALETTE)]}'>■</span> **{name}**",
                        unsafe_allow_html=True)
            if info.grid_png:
                st.image(info.grid_png, width="stretch")
            else:
                st.caption("no sample grid")


def compare_section() -> None:
    st.subheader("Compare runs")
    options = candidates()
    picked = _picked(options)
    if len(picked) < 2:
        st.info("Pick at least two runs or checkpoints to compare them.")
        return
    infos, names = _load(picked, options)
    if len(infos) < 2:
        return
    _curves(infos, names)
    _grids(infos, names)
    st.markdown("**Hyperparameters and metrics**")
    st.dataframe(_table(infos, names), hide_index=True, key="compare_table")
    st.caption("Metrics come from the checkpoint's recorded scores or from evaluating it above in this session; "
               "compare FID/KID only at the same N and dataset.")
