"""DCGAN Studio: `streamlit run app.py`. Page setup, navigation over pages/, and a sidebar with the device and
this browser session's run. Heavy modules (torch, the engine) load after the page's first elements are drawn."""
import streamlit as st

st.set_page_config(page_title="DCGAN Studio", page_icon="🎨", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
    st.Page("pages/explore.py", title="Explore", icon="🔭", url_path="explore"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="📏", url_path="evaluate"),
]
page = st.navigation(PAGES)

from ui import warmup  # noqa: E402
from ui.boot import navigation_ready  # noqa: E402

warmup.start()   # torch, the engine and the Train page's first data load in the background (once per process)
navigation_ready()
page.run()

# After the page: the sidebar needs torch (device, job state), and importing it first would delay the first paint.
from ui.sidebar import sidebar  # noqa: E402

sidebar()
