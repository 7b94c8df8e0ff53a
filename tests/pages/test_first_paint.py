"""What the first paint relies on: the Train page's settings modules and the public-mode limits import without
torch (so the widgets are drawn while torch loads; Streamlit itself imports Plotly); on a fresh process the Train
page draws "Start training" before anything imports torch, and a click on that early button starts the run once
the engine has loaded; the warm-up thread starts once per process (with the server when `streamlit run app.py`
finds app.py's st.App) and leaves the Train page's default data decoded in the cache."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

from tests.paths import REPO_ROOT


def test_train_settings_and_limits_import_without_torch():
    code = ("import sys; import ui.state, ui.public, ui.train.settings, gan_core.limits, ui.warmup; "
            "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_warm_up_starts_once_and_fills_the_default_data_cache(monkeypatch):
    from ui import warmup

    started = []
    monkeypatch.setattr(warmup, "_started", False)
    monkeypatch.setattr(warmup.threading.Thread, "start", lambda self: started.append(self.name))
    warmup.start()
    warmup.start()
    assert started == ["warm-up"]

    monkeypatch.setattr(warmup, "OTHER_MODULES", ())
    from ui.train import data

    timed = []
    monkeypatch.setattr(data, "step_time_model", lambda device: timed.append(device))
    data._named.clear()
    warmup._warm()
    assert timed and data._named("digits", 28, 1).images.shape[1:] == (1, 28, 28)


# Run in a fresh interpreter: every "Start training" button the Train page draws records whether torch was
# imported at that moment (Streamlit's own button method, wrapped; the page is run by AppTest, no warm-up thread).
FRESH_TRAIN_PAGE = """
import json, sys
from streamlit.elements.widgets.button import ButtonMixin
from streamlit.testing.v1 import AppTest

assert "torch" not in sys.modules
drawn, button = [], ButtonMixin.button

def recording(self, label, *args, **kwargs):
    if label == "Start training":
        drawn.append({"key": kwargs.get("key"), "torch": "torch" in sys.modules,
                      "disabled": bool(kwargs.get("disabled"))})
    return button(self, label, *args, **kwargs)

ButtonMixin.button = recording
at = AppTest.from_file("pages/train.py", default_timeout=120).run()
final = at.button(key="start")
print(json.dumps({"drawn": drawn, "exception": [str(e.value) for e in at.exception], "final_disabled": final.disabled,
                  "captions": [c.value for c in at.caption], "torch_after": "torch" in sys.modules}))
"""


def test_train_page_draws_start_training_before_torch_is_imported():
    out = subprocess.run([sys.executable, "-c", FRESH_TRAIN_PAGE], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert not got["exception"], got["exception"]
    first, *later = got["drawn"]
    assert first == {"key": "start_early", "torch": False, "disabled": False}   # digits: startable, no torch yet
    assert [d["key"] for d in later] == ["start"] and later[0]["torch"]           # then the real controls
    assert got["torch_after"] and not got["final_disabled"]
    assert "4,000 images ready; none skipped." in got["captions"]                 # the data filled in after


def test_start_pressed_before_the_engine_loaded_starts_the_run(monkeypatch):
    """The early button's click (recorded in the session) is honoured by the next run, which waits for the engine
    (here: a warm-up flag not set yet, so the page takes its fresh-server path) and then starts training."""
    from streamlit.testing.v1 import AppTest

    from ui import warmup
    from ui.train.start import START_REQUESTED

    monkeypatch.setattr(warmup, "_train_ready", threading.Event())
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "train.py"), default_timeout=120)
    for key, value in {"image_size": 16, "z_dim": 8, "g_width": 4, "d_width": 4, "batch_size": 8, "max_steps": 100_000,
                       "sample_every": 2, "device": "cpu", START_REQUESTED: True}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    assert warmup.train_ready()                                   # the page imported the engine and said so
    assert at.session_state["job_id"] and not at.session_state[START_REQUESTED]
    assert "Stop" in [b.label for b in at.button]                 # the run's controls, not Start training
    from ui import state

    at.button(key="stop").click().run()
    assert not at.exception, at.exception
    job = state.job_manager().get(at.session_state["job_id"], owner=at.session_state["owner_id"])
    assert job is not None
    job.join(timeout=60)
    assert job.summary().ended


def test_app_py_is_the_asgi_app_streamlit_run_finds():
    """`streamlit run app.py` must take the st.App path: its lifespan starts the warm-up at server start."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(REPO_ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_importing_app_py_builds_the_server_and_draws_nothing():
    """Imported as a module (what `streamlit run` / uvicorn do), app.py only builds the st.App, torch-free; its
    lifespan hook does the whole warm-up before the server answers (the step-time model replaced by a recorder)."""
    code = ("import asyncio, sys; import app; import streamlit as st\n"
            "assert isinstance(app.app, st.App) and not hasattr(app, 'PAGES') and 'torch' not in sys.modules\n"
            "from ui import warmup; import ui.train.data as data\n"
            "timed = []; data.step_time_model = lambda device: timed.append(device)\n"
            "async def go():\n    async with app._warm_at_start(app.app):\n        pass\n"
            "asyncio.run(go())\n"
            "print(warmup.train_ready(), warmup._started, len(timed), len(data._named('digits', 28, 1).images))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "True True 1 4000"


def test_empty_chart_waits_one_tick_after_the_first_paint():
    """The session's first paint of Train has no Plotly chart (its JavaScript would hold the page back); the
    fragment's first timed rerun (armed) asks for the full rerun that draws it."""
    from streamlit.testing.v1 import AppTest

    from ui import state

    at = AppTest.from_file(str(REPO_ROOT / "pages" / "train.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert not at.get("plotly_chart") and at.session_state[state.EMPTY_CHART] == "armed"
    assert "D(x) and D(G(z)) will be charted here." in [c.value for c in at.caption]
    at.session_state[state.EMPTY_CHART] = "ready"          # what the timed rerun leaves before its st.rerun()
    at.run()
    assert not at.exception, at.exception
    assert [c.key for c in at.get("plotly_chart")] == ["chart_prob_empty"]
