"""Home page pieces: the device sentence and the gallery of bundled checkpoints (sample grid + Explore button)."""
from __future__ import annotations

import streamlit as st

from gan_core.checkpoints import store as checkpoint


@st.cache_resource(show_spinner=False)
def device_line() -> str:
    """The device training would use ('auto'): CUDA GPU name, Apple MPS, or CPU with its thread count."""
    from gan_core.training.devices import describe_device, resolve_device

    return describe_device(resolve_device("auto"))


def _facts(name: str) -> str:
    try:
        info = checkpoint.read_config_json(checkpoint.BUNDLED_DIR / name)
    except (OSError, ValueError):
        return "config.json unreadable"
    size = info.get("image_size", "?")
    return (f"{info.get('preset', '?')} · {info.get('dataset') or 'data?'} · {size}×{size} · "
            f"{info.get('steps', '?')} steps")


def bundled_gallery(columns: int = 3) -> str | None:
    """Draw one card per bundled checkpoint; returns the name whose Explore button was pressed."""
    names = checkpoint.bundled_checkpoints()
    if not names:
        st.caption("No bundled checkpoints in checkpoints/ yet. Train one on the Train page and save it.")
        return None
    chosen = None
    cols = st.columns(columns)
    for i, name in enumerate(names):
        with cols[i % columns].container(border=True):
            st.markdown(f"**{name}**")
            samples = checkpoint.BUNDLED_DIR / name / "samples.png"
            if samples.is_file():
                st.image(str(samples), width="stretch")
            st.caption(_facts(name))
            if st.button("Explore", key=f"explore_{name}", width="stretch"):
                chosen = name
    return chosen
