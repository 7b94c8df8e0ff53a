"""Home page: what DCGAN Studio does, the device it found, and the bundled checkpoints as a small gallery."""
import streamlit as st

from ui.boot import through_app

through_app()

st.title("DCGAN Studio")
st.markdown(
    "Train **deep convolutional GANs** on your own images and watch them learn: a generator *G* turns random "
    "noise *z* into images while a discriminator *D* learns to tell them from real ones.\n\n"
    "- **Train** — pick data (built-in digits work offline) and settings, then watch D(x), D(G(z)), the losses "
    "and a fixed-noise sample grid update live; pause, step, save and download.\n"
    "- **Explore** — load a generator, browse seeds, interpolate between them, download images and GIFs.\n"
    "- **Evaluate** — FID / KID / IS against a dataset, and runs side by side.")
from ui import state  # noqa: E402  (torch loads here, after the text above is on screen)
from ui.home import bundled_gallery, device_line  # noqa: E402

st.info(f"Device: **{device_line()}**")
c1, c2 = st.columns(2)
if c1.button("Start training on digits", type="primary"):
    st.switch_page("pages/train.py")
if c2.button("Explore a generator"):
    st.switch_page("pages/explore.py")

st.subheader("Bundled checkpoints")
chosen = bundled_gallery()
if chosen:
    state.set_explore_source(chosen)
    st.switch_page("pages/explore.py")
