"""What public mode (`DCGAN_STUDIO_PUBLIC=1`, gan_core.limits) changes on the pages: which data sources the Train
page offers (never a folder on the server), the limits stated next to the widgets they bound, and the checks the
pages make before handing anything to the engine (which checks again). Torch-free, so pages can call it before
their heavy imports. In private mode every function here is a no-op or returns its input unchanged.
"""
from __future__ import annotations

import streamlit as st

from gan_core.limits import LimitError, PublicLimits, check_run, check_upload, describe, public_limits

SERVER_SOURCES = ("folder",)   # Train-page data sources that read the server's own files


def limits() -> PublicLimits | None:
    return public_limits()


def train_sources(sources: dict[str, str]) -> dict[str, str]:
    """The Train page's data sources: in public mode without the ones that read the server's files."""
    if limits() is None:
        return sources
    return {k: v for k, v in sources.items() if k not in SERVER_SOURCES}


def refuse_server_source(kind: str) -> bool:
    """True (after an st.error naming the rule) if public mode refuses this source, even from crafted state."""
    lim = limits()
    if lim is None or kind not in SERVER_SOURCES:
        return False
    st.error(describe(lim)["folder"])
    return True


def note(topic: str) -> None:
    """State one group of public limits ('upload', 'run', 'server', 'hub') as a caption; nothing in private mode."""
    lim = limits()
    if lim is not None:
        st.caption(f"Public server. {describe(lim)[topic]}")


def upload_error(files: list) -> str | None:
    """Why public mode refuses these uploaded files as a whole (count, total bytes), or None."""
    lim = limits()
    if lim is None:
        return None
    try:
        check_upload(lim, sizes=[f.size for f in files])
    except LimitError as exc:
        return str(exc)
    return None


def run_error(*, image_size: int, g_width: int, d_width: int, batch_size: int) -> str | None:
    """Why public mode refuses a run of this size, or None (the JobManager checks the same again)."""
    lim = limits()
    if lim is None:
        return None
    try:
        check_run(lim, image_size=image_size, g_width=g_width, d_width=d_width, batch_size=batch_size)
    except LimitError as exc:
        return str(exc)
    return None
