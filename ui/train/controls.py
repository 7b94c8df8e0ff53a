"""Run controls, saving and downloads on the Train page. Every button acts through a callback on the job.

Start submits a `TrainingJob` to the process-wide JobManager and remembers only its id (session + ?job=).
Pause / Step once / Resume / Stop set the job's events; the buttons shown follow the job's status.
Downloads hand callables to `st.download_button`, so the GIF, CSV and zip are built only when clicked.
"""
from __future__ import annotations

import time

import streamlit as st

from gan_core.config import ModelConfig, TrainConfig
from gan_core.data.datasets import ImageSet
from gan_core.limits import LimitError
from gan_core.training.job_status import ACTIVE, ENDED, PAUSED, QUEUED
from gan_core.training.jobs import TrainingJob
from ui import public, state
from ui.train import files as train_files
from ui.train.start import START_REQUESTED, request_start

SAVE_MSG = "train_save_msg"


def _start(model: ModelConfig, train: TrainConfig, images: ImageSet) -> TrainingJob | None:
    """Submit a run; None (after an st.error naming the limit) when public mode refuses it."""
    job = TrainingJob(model, train, owner=state.owner_id(), images=images,
                      command=f"DCGAN Studio Train page ({model.preset}, {images.name})")
    try:
        state.job_manager().submit(job)
    except LimitError as exc:   # queue full, one run per session, over a size limit: nothing was queued
        st.error(f"Not started: {exc}.")
        return None
    state.set_current_job(job)
    state.set_values({SAVE_MSG: None, "ckpt_name": ""})
    return job


def _first_rows(job: TrainingJob, *, timeout: float = 1.5) -> str:
    """Wait (bounded) for the run's first history rows and grid, so the page that follows the click already shows
    curves and samples instead of waiting for the live panel's next tick. Returns the job's status."""
    end = time.monotonic() + timeout
    snap = job.summary()
    while time.monotonic() < end and snap.status in ACTIVE and not (snap.history_len and snap.grid_steps):
        time.sleep(0.02)
        snap = job.summary()
    return snap.status


def _stop(job: TrainingJob) -> None:
    state.job_manager().stop(job)


def control_group(status: str | None) -> str:
    """Which set of buttons a status needs; the page redraws its controls only when this changes."""
    if status is None or status in ENDED:
        return "start"
    return {QUEUED: "queued", PAUSED: "paused"}.get(status, "running")


def controls(job: TrainingJob | None, ready: tuple[ModelConfig, TrainConfig, ImageSet] | None) -> TrainingJob | None:
    """Start training when there is no active run; otherwise the controls that fit the run's status.

    Returns the session's job, which is new when Start training was just pressed (no extra rerun needed)."""
    status = job.summary().status if job else None
    if control_group(status) == "start" and state.value(START_REQUESTED) and ready is not None:
        started = _start(*ready)
        if started is not None:
            job = started
            status = _first_rows(job)
    state.set_values({START_REQUESTED: False})
    cols = st.columns([2, 1, 1, 1, 3])
    group = control_group(status)
    if group == "start":
        public.note("server")
        cols[0].button("Start training", type="primary", key="start", disabled=ready is None,
                       on_click=request_start, width="stretch",
                       help=None if ready else "Choose data and valid settings first.")
        return job
    if group == "running":
        cols[0].button("Pause", key="pause", on_click=job.pause, width="stretch")
    elif group == "paused":
        cols[0].button("Resume", key="resume", type="primary", on_click=job.resume, width="stretch")
        cols[1].button("Step once", key="step_once", on_click=job.step_once, width="stretch")
    label = "Cancel" if group == "queued" else "Stop"
    cols[2].button(label, key="stop", on_click=_stop, args=(job,), width="stretch")
    return job


def _save(job: TrainingJob) -> None:
    name = state.value("ckpt_name") or train_files.default_name(job)
    try:
        path = train_files.save_named(job, name)
    except (ValueError, OSError) as exc:  # bad name, nothing to save yet, disk problems
        state.set_values({SAVE_MSG: ("error", f"Not saved: {exc}")})
        return
    state.set_saved_path(job.id, str(path))
    state.set_values({SAVE_MSG: ("success", f"Saved checkpoint to {path}")})


def save_and_downloads(job: TrainingJob) -> None:
    """Save by name, open in Explore, and the four downloads (grid PNG, GIF, CSV, checkpoint zip)."""
    snap = job.summary()
    if snap.status == QUEUED or (snap.status in ENDED and not snap.grid_steps):
        return  # nothing trained (yet): nothing to save
    st.subheader("Save and download")
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    c1.text_input("Checkpoint name", key="ckpt_name", placeholder=train_files.default_name(job),
                  help="Letters, digits, '_' and '-'. Saved in Hub layout under the app's checkpoints folder.")
    c2.button("Save checkpoint", key="save_ckpt", on_click=_save, args=(job,), width="stretch")
    if c3.button("Open in Explore", key="open_explore", width="stretch"):
        state.set_explore_source(state.saved_path(job.id) or f"job:{job.id}")
        st.switch_page("pages/explore.py")
    msg = state.value(SAVE_MSG)
    if msg:
        (st.success if msg[0] == "success" else st.error)(msg[1])

    base = train_files.default_name(job)
    none = not snap.grid_steps  # before the first step: nothing to download yet
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button("Sample grid (PNG)", lambda: train_files.latest_grid(job), file_name=f"{base}-grid.png",
                       mime="image/png", key="dl_grid", on_click="ignore", width="stretch", disabled=none)
    d2.download_button("Training GIF", lambda: train_files.training_gif(job), file_name=f"{base}-training.gif",
                       mime="image/gif", key="dl_gif", on_click="ignore", width="stretch", disabled=none)
    d3.download_button("Run CSV", lambda: train_files.run_csv(job), file_name=f"{base}.csv", mime="text/csv",
                       key="dl_csv", on_click="ignore", width="stretch", disabled=none)
    d4.download_button("Checkpoint (zip)", lambda: train_files.checkpoint_zip(job), file_name=f"{base}.zip",
                       mime="application/zip", key="dl_zip", on_click="ignore", width="stretch", disabled=none)
    if snap.status in ACTIVE:
        st.caption("While training runs, downloads and saves hold the weights of the moment you click.")
