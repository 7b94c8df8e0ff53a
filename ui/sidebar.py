"""The app's sidebar: which device training uses, and the state of this browser session's run (refreshed every
2 s by a small fragment while the run is active, so it stays true on every page)."""
from __future__ import annotations

import streamlit as st

from ui import state
from ui.home import device_line


def _run_state() -> None:
    job = state.current_job()
    if job is None:
        st.caption("No run in this session yet.")
        return
    snap = job.summary()
    where = f"step {snap.step:,}/{snap.total_steps:,}" if snap.total_steps else ""
    queued = f", position {snap.queue_position}" if snap.status == "queued" else ""
    st.caption(f"This session's run: **{snap.status}**{queued} {where}")
    if snap.total_steps:
        st.progress(min(snap.step / snap.total_steps, 1.0))


def sidebar() -> None:
    with st.sidebar:
        st.caption(f"Device: **{device_line()}**")
        job = state.current_job()
        active = job is not None and not job.summary().ended
        st.fragment(_run_state, run_every="2s" if active else None)()
