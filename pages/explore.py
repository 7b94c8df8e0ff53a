"""Explore page: load a generator (bundled, Hub, uploaded, or this session's run), browse seeds, interpolate
between keyframes (lerp and slerp side by side, animated), nudge single z dimensions, download, publish."""
import streamlit as st

from ui.boot import through_app

through_app()

from ui.explore import sections
from ui.explore import sources

st.title("Explore")
st.caption("What a generator has learned: every seed is a point z in latent space; walk between points and "
           "watch the images morph.")
sections.init()

loaded = sources.load_ui(sources.source_ui())
if loaded is None:
    st.stop()

sections.card_ui(loaded)
psi = sections.truncation_ui()
sections.seed_grid_ui(loaded, psi)
sections.interpolation_ui(loaded, psi)
sections.nudge_ui(loaded, psi)
sections.publish_ui(loaded)
