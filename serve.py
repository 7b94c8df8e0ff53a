"""Server entry point with a start-up hook: `streamlit run serve.py` serves app.py exactly as `streamlit run app.py`
does, and also starts the background warm-up (ui/warmup.py: torch, the engine, the Train page's default data)
when the server starts, not when the first visitor arrives. The Space (`app_file: serve.py`) and the Dockerfile
use it. It relies on Streamlit's ASGI `st.App` (Streamlit >= 1.53), found by `streamlit run` in this file.
"""
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def _warm_at_start(_app):
    from ui import warmup

    warmup.start()
    yield


app = st.App("app.py", lifespan=_warm_at_start)
