"""DCGAN Studio: `streamlit run app.py`. Page setup, navigation over pages/, and a sidebar with the device and
this browser session's run; and, for the server, a start-up hook that warms the heavy imports.

This file is read two ways. `streamlit run app.py` first looks in it for an ASGI app (Streamlit >= 1.53 finds
the `st.App` assigned below, by reading the source) and serves it; importing it as the module `app` only builds
that `st.App`, whose lifespan hook imports torch and the pages' modules before the server answers, then warms
the Train page's default data and step-time estimate in the background (ui/warmup.py). Every page view runs
this same file as the Streamlit script, as `__main__`: page config, navigation, the page, the sidebar. Where
the hook did not run (AppTest, an older Streamlit), heavy modules load after the page's first elements.
"""
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def _warm_at_start(_app):
    """Before the server answers: import torch and every page's modules (a worker thread, a few seconds); then
    the default data and the step-time model warm in the background (ui/warmup.py)."""
    import asyncio

    from ui import warmup

    await asyncio.to_thread(warmup.warm_at_start)
    yield


if __name__ != "__main__":   # imported by `streamlit run app.py` (or `uvicorn app:app`): the server, no page
    app = st.App("app.py", lifespan=_warm_at_start)
else:                        # a page view: Streamlit runs this file as the script
    st.set_page_config(page_title="DCGAN Studio", page_icon="🎨", layout="wide")

    PAGES = [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
        st.Page("pages/explore.py", title="Explore", icon="🔭", url_path="explore"),
        st.Page("pages/evaluate.py", title="Evaluate", icon="📏", url_path="evaluate"),
    ]
    page = st.navigation(PAGES)

    from ui import warmup
    from ui.boot import navigation_ready

    warmup.start()   # no-op when the server's start-up hook ran it; else (an older Streamlit, AppTest) now, once
    navigation_ready()
    page.run()

    # After the page: the sidebar needs torch (device, job state), and importing it first would delay the first
    # paint.
    from ui.sidebar import sidebar

    sidebar()
