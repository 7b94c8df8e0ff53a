"""What the first paint relies on: the Train page's settings modules and the public-mode limits import without
torch (so the widgets are drawn while torch loads; Streamlit itself imports Plotly), and the warm-up thread
starts once per process and leaves the Train page's default data decoded in the cache."""
from __future__ import annotations

import subprocess
import sys

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


def test_serve_py_is_an_asgi_app_streamlit_run_finds():
    """`streamlit run serve.py` must take the st.App path (its lifespan starts the warm-up at server start)."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(REPO_ROOT / "serve.py")
    assert found.is_asgi_app and found.import_string.endswith(":app")
    assert not discover_asgi_app(REPO_ROOT / "app.py").is_asgi_app     # app.py stays a plain script
