"""Train page: choose data and settings, start a run, watch it learn live, then save and download it.

The run lives in the process-wide JobManager (ui.state); this page keeps only its id, so switching pages or
reloading the tab (?job= in the URL) reattaches to it. Once a run exists the settings fold away above it.
"""
import streamlit as st

from ui.boot import through_app

through_app()

from ui import state, warmup
from ui.train import settings as widgets
from ui.train import start
from ui.train.handover import handover_ui

st.title("Train a GAN")
widgets.defaults()
# Everything down to the Start button is drawn by torch-free code, so on a fresh server the page is usable while
# torch and the engine still load (ui/train/start.py); data, estimate and live panel fill in below once they have.
# A session with a run (or ?job= in the URL) looks it up first, to fold the settings away.
job = state.current_job() if state.has_job_id() else None

with st.expander("Data and settings", expanded=job is None, icon="⚙️"):
    st.subheader("1 · Data")
    kind, detail = widgets.data_source_ui()
    data_box = st.container()

    st.subheader("2 · Model and training")
    model, train, config_error = widgets.model_ui()
    if config_error:
        st.error(f"Settings not valid: {config_error}")
    estimate_box = st.empty()

handover_ui(model, train, kind=kind, detail=detail)

st.subheader("3 · Run")
wait_box = st.empty()       # a Start pressed before the engine loaded waits here, under a spinner
controls_box = st.empty()   # the early Start button, then the real controls in its place
if job is None and not warmup.train_ready() and not start.start_requested():
    start.early_start_button(controls_box, enabled=model is not None and train is not None
                             and start.data_expected(kind, detail))
start.load_engine(data_box, wait_box)   # torch: at once if loaded, else waits under a spinner

from ui.train.controls import controls, save_and_downloads  # noqa: E402  (torch)
from ui.train.data import estimate, load, preview  # noqa: E402
from ui.train.live import empty_panel, live_panel  # noqa: E402

ready = None
with data_box:
    images, dataset = load(kind, detail, model) if model else (None, None)
    if images is not None:
        preview(images)
if images is not None and train is not None:
    train = widgets.with_dataset(train, dataset)
    ready = (model, train, images)

with controls_box.container():
    job = controls(job, ready)
if ready is not None:   # after the controls: the estimate times real steps once per process (about a second)
    estimate_box.markdown(estimate(model, train, len(images.images)))
if job is None:
    empty_panel()
else:
    live_panel(job)
    save_and_downloads(job)
