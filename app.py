"""DCGAN Studio: `streamlit run app.py`. Page setup, navigation over pages/, and a sidebar with the device and
this browser session's run. Heavy modules (torch, the engine) load lazily in the pages that need them."""
import streamlit as st

st.set_page_config(page_title="DCGAN Studio", page_icon="🎨", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
    st.Page("pages/explore.py", title="Explore", icon="🔭", url_path="explore"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="📏", url_path="evaluate"),
]
page = st.navigation(PAGES)

from ui.sidebar import sidebar  # noqa: E402  (after navigation: the page list renders first)

sidebar()
page.run()
