"""The only module that touches `st.session_state` keys and `st.query_params`.

A browser session gets an owner id (random, per session); its training job's id lives in the session and in
the URL (`?job=`), so a reload reattaches. The JobManager is one per process (`st.cache_resource`).
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from gan_core.limits import PublicLimits, public_limits

if TYPE_CHECKING:   # the engine imports torch: loaded on first use, so pages can draw their widgets first
    from gan_core.training.job_manager import JobManager
    from gan_core.training.jobs import TrainingJob

OWNER = "owner_id"
JOB = "job_id"
LIVE_REFRESH = "live_refresh"        # the Train page's "Refresh every" widget: how often the live panel redraws
LIVE_REFRESH_KEPT = "live_refresh_kept"   # its last choice, the default when the next run shows the widget again
EXPLORE_SOURCE = "explore_source"   # what Explore should open: a bundled name, folder, repo id, or "job:<id>"


def job_manager() -> JobManager:
    from gan_core.data.datasets import data_home

    return _job_manager(public_limits(), str(data_home()))


@st.cache_resource
def _job_manager(limits: PublicLimits | None, home: str) -> JobManager:
    """Private mode: no limits. Public mode: runs autosave under data_home()/runs, and one storage quota covers
    run folders, checkpoints saved by name and Explore's uploads/snapshots; a janitor reaps abandoned runs.
    (Keyed by the mode and data dir, so tests switching DCGAN_STUDIO_PUBLIC get the matching manager.)"""
    from gan_core.training.job_manager import JobManager

    if limits is None:
        return JobManager()
    home = Path(home)
    manager = JobManager(limits=limits, runs_dir=home / "runs",
                         quota_roots=(home / "runs", home / "checkpoints", home / "explore" / "uploads",
                                      home / "explore" / "imports", home / "explore" / "runs"))
    manager.start_janitor()
    return manager


def owner_id() -> str:
    """This browser session's owner token. A reload with ?job= in the URL adopts that job's owner."""
    if OWNER not in st.session_state:
        st.session_state[OWNER] = uuid.uuid4().hex
        job_id = st.query_params.get("job")
        job = job_manager().get(job_id) if job_id else None
        if job is not None:  # the id is an unguessable capability: holding it means it is yours
            st.session_state[OWNER] = job.owner
            st.session_state[JOB] = job.id
    return st.session_state[OWNER]


def has_job_id() -> bool:
    """Whether this session (or the URL) names a run; torch-free, so a page can decide its layout before the
    engine is imported."""
    return JOB in st.session_state or bool(st.query_params.get("job"))


def current_job() -> TrainingJob | None:
    owner = owner_id()
    job = job_manager().get(st.session_state.get(JOB), owner=owner)
    return job


def set_current_job(job: TrainingJob | None) -> None:
    if job is None:
        st.session_state.pop(JOB, None)
        st.query_params.pop("job", None)
    else:
        st.session_state[JOB] = job.id
        st.query_params["job"] = job.id


def session_jobs() -> list[TrainingJob]:
    """Every job this session started (newest last): Explore and Evaluate offer their generators."""
    return job_manager().jobs_of(owner_id())


def explore_source() -> str | None:
    return st.session_state.get(EXPLORE_SOURCE)


def set_explore_source(source: str) -> None:
    st.session_state[EXPLORE_SOURCE] = source


# ---- Train page: widget values, per-job caches (only ids, small values and copies of history live here) ----
HISTORY = "train_history"          # {"job": id, "rows": [...]}: rows fetched so far, extended incrementally
LAST_STATUS = "train_last_status"  # the job status the last full run of the page drew (a change -> full rerun)
SAVED = "train_saved"              # {job id: path of the last checkpoint saved by name}
LOADED_SOURCES = "train_loaded"    # data sources a user asked to download/decode (set of keys)
GRID_PICK = "grid_pick"            # the timeline slider's widget key
GRID_FOLLOW = "grid_follow"        # [(grid step, monotonic time)] follow_grid moved the slider to, newest last
GRID_FOLLOW_LAST = "grid_follow_last"  # the newest grid step follow_grid saw (the slider follows while it is on it)
GRID_LATE_S = 5.0                  # a value the browser sends back within this long after we set it is not a pick
EMPTY_CHART = "train_empty_chart"  # "pending" / "armed" / "ready": the empty chart waits one tick after first paint


def init_values(values: dict) -> None:
    """Give widgets their first value through session state (so callbacks can later change them visibly)."""
    for k, v in values.items():
        st.session_state.setdefault(k, v)


def set_values(values: dict) -> None:
    """Change widget values (call from a callback, before the widgets are drawn again)."""
    for k, v in values.items():
        st.session_state[k] = v


def value(key: str, default=None):
    return st.session_state.get(key, default)


def job_history(job: TrainingJob) -> list[dict]:
    """The job's whole history, fetching only rows added since the last call (a snapshot copies what it returns)."""
    cache = st.session_state.get(HISTORY)
    if not cache or cache["job"] != job.id:
        cache = {"job": job.id, "rows": []}
    snap = job.snapshot(since=len(cache["rows"]))
    if snap.history_len < len(cache["rows"]):  # the run was rebuilt (resume): start over
        cache["rows"] = job.history()
    else:
        cache["rows"].extend(snap.history)
    st.session_state[HISTORY] = cache
    return cache["rows"]


def status_changed(job_id: str | None, status: str | None) -> bool:
    """True once per change of (job, status) since the page last drew its controls."""
    seen = st.session_state.get(LAST_STATUS)
    st.session_state[LAST_STATUS] = (job_id, status)
    return seen is not None and seen != (job_id, status)


def saved_path(job_id: str) -> str | None:
    return st.session_state.get(SAVED, {}).get(job_id)


def set_saved_path(job_id: str, path: str) -> None:
    st.session_state.setdefault(SAVED, {})[job_id] = path


def source_loaded(key: str) -> bool:
    return key in st.session_state.get(LOADED_SOURCES, set())


def mark_source_loaded(key: str) -> None:
    st.session_state.setdefault(LOADED_SOURCES, set()).add(key)


def follow_grid(steps: list[int]) -> None:
    """Keep the timeline slider (options: grid steps) on the newest grid unless the user moved it back.

    "Moved back" means a step other than those this function set in the last few seconds: under load the browser
    can send the slider's value of a tick or two ago with its next rerun request, and taking that for a user's
    pick left the slider stuck on an early grid. (So a user who drags to a grid that was the newest in the last
    few seconds is pulled forward; a few seconds after the last new grid, as when paused or ended, every pick stays.)"""
    last, now = steps[-1], time.monotonic()
    shown, previous = st.session_state.get(GRID_PICK), st.session_state.get(GRID_FOLLOW_LAST)
    followed = [(s, t) for s, t in st.session_state.get(GRID_FOLLOW) or [] if now - t < GRID_LATE_S]
    if shown is None or shown == previous or shown in {s for s, _ in followed} or shown not in steps:
        st.session_state[GRID_PICK] = last
    if previous != last:
        followed.append((last, now))
    st.session_state[GRID_FOLLOW] = followed
    st.session_state[GRID_FOLLOW_LAST] = last
