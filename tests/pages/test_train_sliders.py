"""AppTest of the Train page's sliders (the card's "sliders for z-dim and epochs"): each slider and its exact typed
field stay equal, epochs move on log-spaced stops while any exact number can be typed, presets move the sliders,
and the values reach the run's configs (the estimate line names the epochs' steps)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.paths import REPO_ROOT
from ui.train.settings import EPOCH_STOPS

PAGE = str(REPO_ROOT / "pages" / "train.py")


def test_z_dim_and_epochs_sliders_follow_the_exact_fields_both_ways():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    z, z_exact = at.slider(key="z_dim_slider"), at.number_input(key="z_dim")
    assert (z.min, z.max, z.value, z_exact.value) == (2, 512, 100, 100)
    at.slider(key="z_dim_slider").set_value(64).run()
    assert at.number_input(key="z_dim").value == 64                    # the slider writes the exact field
    at.number_input(key="z_dim").set_value(37).run()
    assert at.slider(key="z_dim_slider").value == 37                   # and the field moves the slider
    epochs = at.select_slider(key="epochs_slider")
    assert list(epochs.options) == [str(s) for s in EPOCH_STOPS] and epochs.value == 20
    assert EPOCH_STOPS[0] == 1 and EPOCH_STOPS[-1] == 500
    at.select_slider(key="epochs_slider").set_value(150).run()
    assert at.number_input(key="epochs").value == 150
    at.number_input(key="epochs").set_value(42).run()                 # a precise number between two stops
    assert at.number_input(key="epochs").value == 42 and at.select_slider(key="epochs_slider").value == 50
    assert not at.error and not at.exception
    at.selectbox(key="preset").set_value("improved").run()             # a preset moves the slider too
    assert at.slider(key="z_dim_slider").value == 128 and at.number_input(key="z_dim").value == 128
