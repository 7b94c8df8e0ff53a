"""The Train page's timeline slider follows the newest grid (ui/state.py: follow_grid): a value the browser sends
back late (one follow_grid set seconds ago) does not pin it, while a user's pick of an older grid does."""
from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from ui import state

    state.follow_grid(st.session_state["steps"])
    st.write(st.session_state[state.GRID_PICK])


def _shown(at: AppTest, steps: list[int], pick: int | None = None) -> int:
    at.session_state["steps"] = steps
    if pick is not None:
        at.session_state["grid_pick"] = pick          # what a rerun request carries from the browser
    at.run()
    assert not at.exception, at.exception
    return at.session_state["grid_pick"]


def test_slider_follows_new_grids_and_ignores_a_late_echo():
    at = AppTest.from_function(_script)
    assert _shown(at, [25]) == 25
    assert _shown(at, [25, 50]) == 50
    assert _shown(at, [25, 50, 75]) == 75
    # the browser sends 50 back after 75 was set (a rerun request built before it drew 75): still following
    assert _shown(at, [25, 50, 75, 100], pick=50) == 100
    assert _shown(at, [25, 50, 75, 100, 125]) == 125


def test_a_users_pick_of_an_older_grid_stays():
    from ui import state

    at = AppTest.from_function(_script)
    for steps in ([25], [25, 50], [25, 50, 75]):
        _shown(at, steps)
    # the user drags to 25, which follow_grid set more than GRID_LATE_S ago (its entries aged by hand here)
    at.session_state[state.GRID_FOLLOW] = [(s, time.monotonic() - 2 * state.GRID_LATE_S)
                                           for s, _ in at.session_state[state.GRID_FOLLOW]]
    assert _shown(at, [25, 50, 75, 100], pick=25) == 25
    assert _shown(at, [25, 50, 75, 100, 125]) == 25                 # and it stays while new grids arrive
    assert _shown(at, [25, 50, 75, 100, 125, 150]) == 25
