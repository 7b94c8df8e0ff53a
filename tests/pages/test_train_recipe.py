"""AppTest of the Train page's small-data recipe widgets: defaults equal the CLI's, a bad EMA decay is one message
under its widget with Start disabled, and an ada run plots the augmentation probability p next to D's curves."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from gan_core.config import TrainConfig
from tests.pages.test_train import PAGE, TIMEOUT, poll, status_text, tiny


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def test_recipe_widgets_start_at_the_cli_defaults_and_explain_themselves():
    at = _page()
    t = TrainConfig()
    assert at.selectbox(key="loss").value == t.loss
    assert at.selectbox(key="augment").value == t.augment
    assert at.number_input(key="ema_decay").value == t.ema_decay
    assert at.toggle(key="spectral_norm").value == t.spectral_norm
    for widget in (at.selectbox(key="loss"), at.selectbox(key="augment"), at.number_input(key="ema_decay"),
                   at.toggle(key="spectral_norm")):
        assert widget.help and ("use" in widget.help.lower() or "when" in widget.help.lower())


def test_bad_ema_decay_is_one_message_under_the_widget_and_nothing_starts():
    at = _page()
    at.number_input(key="ema_decay").set_value(1.0).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["ema_decay must be in [0, 0.9999], got 1.0 (0 = off, e.g. 0.999)"]
    assert at.button(key="start").disabled
    at.number_input(key="ema_decay").set_value(0.99).run()
    assert not at.error and not at.button(key="start").disabled


def test_ada_run_plots_p_next_to_the_probabilities_and_hinge_labels_its_curves():
    at = _page()
    at.selectbox(key="augment").set_value("ada")
    at.selectbox(key="loss").set_value("hinge")
    tiny(at, max_steps=4)
    at.button(key="start").click().run()
    poll(at, lambda a: "finished" in status_text(a))
    prob = next(c for c in at.get("plotly_chart") if c.key == "chart_prob")
    assert '"augmentation p (ADA)"' in prob.proto.spec
    assert "sigmoid of D's hinge score" in prob.proto.spec
    assert any("augmentation p" in c.value for c in at.caption)
