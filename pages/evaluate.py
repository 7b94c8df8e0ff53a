"""Evaluate page (placeholder until the Evaluate page lands): FID / KID / IS and runs side by side."""
import streamlit as st

st.title("Evaluate")
st.info("The Evaluate page is being built: FID / KID / IS against a dataset, and runs compared side by side.")
