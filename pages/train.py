"""Train page: choose data and settings, start a run, watch it learn live, then save and download it.

The run lives in the process-wide JobManager (ui.state); this page keeps only its id, so switching pages or
reloading the tab (?job= in the URL) reattaches to it. Once a run exists the settings fold away above it.
"""
import streamlit as st

from ui.boot import through_app

through_app()

from ui import state
from ui.train import settings as widgets
from ui.train.controls import controls, save_and_downloads
from ui.train.data import estimate, load, preview
from ui.train.handover import handover_ui
from ui.train.live import empty_panel, live_panel

st.title("Train a GAN")
widgets.defaults()
job = state.current_job()

with st.expander("Data and settings", expanded=job is None, icon="⚙️"):
    st.subheader("1 · Data")
    kind, detail = widgets.data_source_ui()
    data_box = st.container()

    st.subheader("2 · Model and training")
    model, train, config_error = widgets.model_ui()
    if config_error:
        st.error(f"Settings not valid: {config_error}")

    ready = None
    with data_box:
        images, dataset = load(kind, detail, model) if model else (None, None)
        if images is not None:
            preview(images)
    if images is not None and train is not None:
        train = widgets.with_dataset(train, dataset)
        ready = (model, train, images)
        st.markdown(estimate(model, train, len(images.images)))

handover_ui(model, train, kind=kind, detail=detail)

st.subheader("3 · Run")
job = controls(job, ready)
if job is None:
    empty_panel()
else:
    live_panel(job)
    save_and_downloads(job)
