"""Evaluate page: score a generator (FID / KID / IS, the offline digits score) and compare runs side by side."""
import streamlit as st

from ui.boot import through_app

through_app()

from ui.evaluate.compare import compare_section
from ui.evaluate.run import score_section

st.title("Evaluate")
st.caption("How good is a generator, and is it collapsing? Scores against real images, and runs side by side.")

score_tab, compare_tab = st.tabs(["Score a generator", "Compare runs"])
with score_tab:
    score_section()
with compare_tab:
    compare_section()
