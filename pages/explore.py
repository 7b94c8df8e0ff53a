"""Explore page (placeholder until the Explore page lands): load a generator and browse its latent space."""
import streamlit as st

st.title("Explore")
st.info("The Explore page is being built: it will load a generator (bundled, Hub, uploaded, or the run you just "
        "trained), show seeds, interpolate and download.")
