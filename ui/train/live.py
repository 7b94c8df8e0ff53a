"""The live part of the Train page: progress, banners, D(x)/D(G(z)) and loss charts, the fixed-noise grid.

`live_panel()` is an `st.fragment` that reruns every "Refresh every" seconds (1 s; 3 s for a browser on the training
machine's few cores) while the run is active (ARCHITECTURE.md, "Threads and processes"): it reads the job's
snapshot (history rows since the last read, the grid PNGs) and redraws. When the job's status changes it asks for
one full rerun so the controls outside the fragment follow (Pause -> Resume, Stop -> Start training).
"""
from __future__ import annotations

import ipaddress
import os

import streamlit as st

from gan_core.config import TrainConfig
from gan_core.training.losses import CHART_NOTE
from gan_core.training.job_status import ACTIVE, FAILED, FINISHED, LOADING, QUEUED, STOPPED, JobSnapshot
from gan_core.training.jobs import TrainingJob
from ui import state
from ui.evaluate.figures import compare_collapse_figure
from ui.figures import loss_figure, probability_figure
from ui.train.checks import banners
from ui.train.controls import control_group


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _progress(snap: JobSnapshot) -> None:
    total = max(snap.total_steps, 1)
    epoch_of = snap.epochs if snap.steps_per_epoch == 0 else -(-snap.total_steps // max(snap.steps_per_epoch, 1))
    st.progress(min(snap.step / total, 1.0), text=(
        f"**{snap.status}** · epoch {snap.epoch}/{epoch_of} · step {snap.step:,}/{snap.total_steps:,} · "
        f"elapsed {_clock(snap.elapsed_s)} · ETA {_clock(snap.eta_s) if snap.status in ACTIVE else '–'} · "
        f"{snap.images_per_s:,.0f} images/s · {snap.device}"))


def _status_line(snap: JobSnapshot) -> None:
    if snap.status == QUEUED:
        st.info(f"queued, position {snap.queue_position}: another run is training on this device; this one "
                "starts when it ends.")
    elif snap.status == LOADING:
        st.info("Loading the data and building the models…")
    elif snap.status == FINISHED:
        st.success(f"Finished: {snap.step:,} steps in {_clock(snap.elapsed_s)}. Save it, download it, or open "
                   "it in Explore below.")
    elif snap.status == STOPPED and snap.note:   # public mode: the run used up its budget
        st.warning(f"{snap.note} Save it or download it below.")
    elif snap.status == STOPPED:
        st.info(f"Stopped at step {snap.step:,}. The weights of that step can still be saved below.")
    elif snap.status == FAILED and snap.error and not snap.diverged:   # divergence has its own banner
        st.error(f"Training failed: {snap.error}")


def _charts(rows: list[dict], cfg: TrainConfig) -> None:
    # Before the first rows the chart is drawn empty (axes and the 0.5 band): the browser loads Plotly meanwhile.
    ada = cfg.augment.strip().lower() == "ada"
    st.plotly_chart(probability_figure(rows, aug_p=ada, loss=cfg.loss), key="chart_prob",
                    config={"displaylogo": False})
    if not rows:
        st.caption("The curves appear after the first steps.")
        return
    st.caption("**D(x)**: D's mean probability that real images are real. **D(G(z))**: the same for generated "
               "images, before the D update (solid) and after it (dotted; what G trains against). Near the "
               "green 0.5 band neither side is winning." + ("" if cfg.loss == "bce" else f" {CHART_NOTE[cfg.loss]}")
               + (" **augmentation p**: the share of images D sees augmented; ADA raises it while D is too sure "
                  "of the real images (overfitting), lowers it otherwise." if ada else "")
               + (" D sees augmented images, so these are its judgements of augmented x and G(z)."
                  if cfg.augment_ops() else ""))
    smoothing = st.slider("Loss smoothing", 0.0, 0.99, 0.6, 0.01, key="loss_smoothing")
    st.plotly_chart(loss_figure(rows, smoothing=smoothing, loss=cfg.loss), key="chart_loss",
                    config={"displaylogo": False})


def _grid(job: TrainingJob, snap: JobSnapshot) -> None:
    steps = snap.grid_steps
    if not steps:
        st.caption("The fixed-noise samples appear after the first step.")
        return
    state.follow_grid(steps)
    pick = steps[-1]
    if len(steps) > 1:
        pick = st.select_slider("Timeline: samples at step", options=steps, key=state.GRID_PICK)
    index = steps.index(pick) if pick in steps else len(steps) - 1
    got = job.grid_png(index)
    if got:
        step, png = got
        st.image(png, caption=f"The same 64 noise vectors z through G at step {step:,}", width="stretch")


def _collapse_chart(rows: list[dict]) -> None:
    """The mode-collapse signals logged at each grid: diversity, and digits covered for digits runs."""
    fig = compare_collapse_figure({"samples": rows}, height=280, title="Mode collapse signals")
    if fig is not None:
        fig.update_layout(legend=dict(y=-0.3))                  # clear of the x-axis title in this narrow column
        st.plotly_chart(fig, key="chart_collapse", config={"displaylogo": False})
        st.caption("Diversity: mean distance between the fixed-noise samples (near 0 = collapse). Digits covered: "
                   "how many of 0-9 the digits classifier finds among them (digits runs only).")


def _page_state(snap: JobSnapshot) -> str:
    """What the parts outside the fragment depend on: the set of control buttons."""
    return control_group(snap.status)


def _body(job_id: str) -> None:
    job = state.current_job()
    if job is None or job.id != job_id:
        return
    snap = job.summary()
    if state.status_changed(job.id, _page_state(snap)):
        st.rerun()                       # the controls / save section outside this fragment must follow
    rows = state.job_history(job)
    _progress(snap)
    _status_line(snap)
    for b in banners(rows, diverged_error=snap.error if snap.diverged else None):
        (st.error if b.level == "error" else st.warning)(b.text)
    left, right = st.columns([3, 2])
    with left:
        _charts(rows, job.train_cfg)
    with right:
        _grid(job, snap)
        _collapse_chart(rows)


# How often the live panel redraws. Each redraw re-creates the three Plotly charts in the browser (Streamlit gives
# a chart whose figure changed a new element id, so the browser draws it from scratch): about 0.45 of a core of
# the browser's computer at "1 s". With Chromium on the 2 cores that train, the default run trains at 0.43x the
# CLI's speed at "1 s", 0.70x at "3 s", 0.83x at "10 s" (BENCHMARKS.md, "Watching the Train page"). So a browser
# on the training machine's few cores starts at "3 s"; a visitor's browser on another machine, at "1 s".
REFRESH = {"1 s": 1, "3 s": 3, "10 s": 10}
DEFAULT_REFRESH = "1 s"
FEW_CORES = 4          # at most this many: a local browser's redraws cost the run a visible share
REFRESH_HELP = ("How often the charts and samples redraw while the run trains. Each redraw costs CPU on the "
                "computer this browser runs on: when that is also the computer that trains (a laptop, a small "
                "server), a slower refresh leaves its cores to training, so there it starts at 3 s. On a 2-core "
                "CPU the default run trains 1.4-1.6x faster at 3 s than at 1 s, 1.6-1.9x at 10 s. A browser on "
                "another machine costs the training nothing.")


def browser_is_local(ip: object) -> bool:
    """Whether the browser connects from this machine (so it draws on the cores that train). Streamlit reports
    127.0.0.1 and ::1 as None, but a dual-stack server sees an IPv4 loopback client as ::ffff:127.0.0.1."""
    if ip is None:
        return True
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:      # not an address (no client context): say nothing rather than guess
        return False
    return (getattr(addr, "ipv4_mapped", None) or addr).is_loopback


def default_refresh(*, local_browser: bool, cores: int) -> str:
    """The "Refresh every" a session starts with: "3 s" when this browser draws on the training machine's few
    cores, else "1 s"."""
    return "3 s" if local_browser and cores <= FEW_CORES else DEFAULT_REFRESH


def watching_note(*, local_browser: bool, cores: int, every_s: int) -> str | None:
    """What redrawing costs the run, when this browser shares the training machine's few cores (else None)."""
    if not local_browser or cores > FEW_CORES or every_s >= 10:
        return None
    return (f"This browser runs on the computer that trains ({cores} CPU cores), so every redraw takes CPU from the "
            "run: on 2 cores the default run trains at about half its speed in a terminal when redrawn every "
            "second, 0.7x every 3 s (the default on a computer like this) and 0.8x every 10 s.")


def refresh_interval(choice: str | None, *, active: bool) -> str | None:
    """`run_every` for the live fragment: the chosen refresh (1 s when none is chosen) while the run is active;
    None (no timer) once it has ended."""
    if not active:
        return None
    return f"{REFRESH.get(choice or DEFAULT_REFRESH, 1)}s"


def live_panel(job: TrainingJob) -> None:
    """Draw the live panel; it refreshes itself every "Refresh every" seconds (`default_refresh` until the session
    picks one) while the run is queued, loading, running or paused."""
    snap = job.summary()
    active = snap.status in ACTIVE or snap.status == QUEUED
    state.status_changed(job.id, _page_state(snap))   # what the controls and save section were drawn for
    choice = None
    if active:   # outside the fragment, so that a change reruns the page and restarts the fragment's timer
        local, cores = browser_is_local(st.context.ip_address), os.cpu_count() or 1
        default = state.value(state.LIVE_REFRESH_KEPT, default_refresh(local_browser=local, cores=cores))
        choice = st.segmented_control("Refresh every", list(REFRESH), required=True, key=state.LIVE_REFRESH,
                                      default=default, help=REFRESH_HELP)
        # Streamlit drops the widget's state when a run ends and the control goes; the next run starts from this.
        state.set_values({state.LIVE_REFRESH_KEPT: choice})
        note = watching_note(local_browser=local, cores=cores, every_s=REFRESH.get(choice, 1))
        if note:
            st.caption(note)
    st.fragment(_body, run_every=refresh_interval(choice, active=active))(job.id)


def _empty_chart_tick() -> None:
    # Called inline by the page's run ("pending" -> "armed"), then by the fragment's first timed rerun, which the
    # browser sends only once it is idle again, i.e. after it has drawn the page: "armed" -> "ready", and one full
    # rerun draws the chart in its place.
    if state.value(state.EMPTY_CHART) == "armed":
        state.set_values({state.EMPTY_CHART: "ready"})
        st.rerun()
    state.set_values({state.EMPTY_CHART: "armed"})
    st.caption("D(x) and D(G(z)) will be charted here.")


def empty_panel() -> None:
    """Before any run: the empty D(x) / D(G(z)) chart (axes and the 0.5 band) saying what will appear there. It
    also lets the browser load its charting code before Start training is pressed. On a session's first paint of
    the page it comes a tick later (a fragment's timed rerun, then one full rerun): Plotly's JavaScript (~3.5 MB)
    holds the browser for a while as it loads, and sent with the page it held back the whole page, Start button
    included (BENCHMARKS.md, "First paint")."""
    left, right = st.columns([3, 2])
    with left:
        if state.value(state.EMPTY_CHART) == "ready":
            st.plotly_chart(probability_figure([], height=260), key="chart_prob_empty",
                            config={"displaylogo": False})
        else:
            state.set_values({state.EMPTY_CHART: "pending"})
            st.fragment(_empty_chart_tick, run_every="1s")()
    with right:
        st.caption("Once training starts: D(x) and D(G(z)) on the left, refreshed every second, with the losses "
                   "below; here, the same 64 noise vectors through G as it learns. Pause, step once, resume or "
                   "stop at any time; switching pages does not stop the run.")
