"""Deep links on a freshly started server go through app.py.

Streamlit treats an app with a `pages/` folder as a v1 multipage app until `st.navigation` has run once in the
process: until then a first request for /explore runs pages/explore.py alone, without app.py's page config,
navigation and sidebar. app.py calls `navigation_ready()` once its st.navigation has run; each page calls
`through_app()` first, which, only when app.py has never run in this process, switches Streamlit to
st.navigation mode and reruns, so app.py runs and opens the same page. (PagesManager is Streamlit-internal;
the flag is the one `st.navigation` itself clears.)
"""
import streamlit as st

_app_ran = False


def navigation_ready() -> None:
    global _app_ran
    _app_ran = True


def through_app() -> None:
    if _app_ran:
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no v1 fallback to avoid
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
