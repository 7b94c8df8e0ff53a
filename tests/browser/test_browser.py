"""The one real-browser journey: `streamlit run app.py` on a free loopback port, driven by Debian's Chromium.

Train part: open Train, set a short run (Advanced -> Max steps), press Start training, wait for the D(x) chart
and a sample grid, reload the tab (?job= reattaches), switch to Explore and back, check the run is still shown,
save a screenshot under tests/artifacts/. Skipped when chromium or Playwright is missing, unless
REQUIRE_BROWSER=1 (CI), where that is a failure. Helpers are small so other pages' journeys can reuse them.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.browser

ROOT = REPO_ROOT
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
UI_TIMEOUT_MS = 120_000  # shared, slow test machines


def _missing(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")


@contextlib.contextmanager
def streamlit_server(env: dict[str, str]) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port with `env`; yields its base URL; stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def start_server(tmp_path_factory):
    """The app with its own data folder; yields its base URL."""
    home = tmp_path_factory.mktemp("browser_home")
    with streamlit_server({**os.environ, "DCGAN_STUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        _missing("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (the Python package) is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    pg = context.new_page()
    pg.set_default_timeout(UI_TIMEOUT_MS)
    yield pg
    try:  # the last state of the page, for diagnosing failures
        screenshot(pg, "last_page")
    except Exception:
        pass
    context.close()


# ---- helpers (reusable by other pages' journeys) ----
def open_page(page, base_url: str, path: str = "") -> None:
    page.goto(f"{base_url}/{path}")
    wait_idle(page)


def wait_idle(page) -> None:
    """Wait until the app has drawn and no script run is in progress."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_selector('[data-testid="stMain"] h1')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')")


def go_to(page, title: str) -> None:
    """Click a page in the sidebar navigation."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_selector(f'[data-testid="stMain"] h1:has-text("{title}")')
    wait_idle(page)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(
        "([l, v]) => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') === l"
        " && i.value === v)", arg=[label, str(value)])
    wait_idle(page)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_settings(page) -> None:
    """Unfold Train's "Data and settings" expander if it is folded (it folds once a run exists). Decided from the
    expander's own open state: its widgets can still be invisible for a moment on an open expander while the
    browser loads their code, and a click then would fold it."""
    expander = page.locator("details", has_text="Data and settings").first
    if expander.get_attribute("open") is None:
        page.get_by_text("Data and settings", exact=True).click()
    page.get_by_label("G width (ngf)", exact=True).wait_for()


def download(page, label: str, *, with_info: bool = False):
    """Click a download button and return the file's bytes (deferred downloads are built on click).

    A click that lands while a rerun is replacing the button is lost, so a click with no download within
    40 s is retried (3 tries) before failing.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):
        wait_idle(page)
        try:
            with page.expect_download(timeout=40_000) as info:
                page.get_by_role("button", name=label).click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    data = Path(info.value.path()).read_bytes()
    return (data, info.value) if with_info else data


def start_short_run(page, *, max_steps: int = 20, width: int = 8) -> None:
    """On Train: digits, narrow G and D, Advanced -> Max steps, press Start training."""
    open_settings(page)
    set_number(page, "G width (ngf)", width)
    set_number(page, "D width (ndf)", width)
    page.get_by_text("Advanced", exact=True).click()
    set_number(page, "Max steps (0 = all epochs)", max_steps)
    set_number(page, "Sample grid every N steps", 10)
    page.get_by_role("button", name="Start training").click()


def wait_for_live_run(page, *, status: str = "finished") -> None:
    """The D(x) chart, a fixed-noise sample grid, and the progress line showing `status`."""
    page.wait_for_selector('[data-testid="stPlotlyChart"] .legendtext:text-is("D(x)")')
    page.wait_for_selector('[data-testid="stPlotlyChart"] .legendtext:text-is("D(G(z))")')
    page.wait_for_function(  # the D(x) trace has points, not just a legend entry
        "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .scatterlayer .trace')]"
        ".some(t => (t.querySelector('.js-line')?.getAttribute('d') || '').length > 10)")
    page.locator('[data-testid="stImage"] img:visible').first.wait_for()
    page.get_by_text("The same 64 noise vectors", exact=False).first.wait_for()
    page.locator('[data-testid="stProgress"]', has_text=status).first.wait_for()


def test_train_journey(start_server, page):
    open_page(page, start_server)
    assert page.get_by_text("DCGAN Studio").first.is_visible()
    go_to(page, "Train")
    page.get_by_text("Start training").first.wait_for()
    start_short_run(page, max_steps=20)
    wait_for_live_run(page, status="finished")
    assert "job=" in page.url
    screenshot(page, "train_finished")

    csv_text = download(page, "Run CSV").decode()
    assert csv_text.startswith("# model.preset,dcgan") and "\n20," in csv_text      # config, then 20 steps
    assert download(page, "Sample grid (PNG)")[:8] == b"\x89PNG\r\n\x1a\n"

    page.reload()                       # the job id in the URL reattaches this tab to the run
    wait_idle(page)
    wait_for_live_run(page, status="finished")

    go_to(page, "Explore")
    go_to(page, "Train")
    wait_for_live_run(page, status="finished")
    page.get_by_role("button", name="Save checkpoint").wait_for()
    wait_idle(page)
    shot = screenshot(page, "train_after_explore")
    assert shot.stat().st_size > 10_000


def test_a_browser_on_the_training_machine_starts_at_the_refresh_that_fits_its_cores(start_server, page):
    """This browser runs on the server's machine (loopback): on a few cores the live panel starts at "3 s" and
    says why; on more, at "1 s" without the note."""
    from ui.train.live import default_refresh

    open_page(page, start_server)
    go_to(page, "Train")
    page.get_by_text("Start training").first.wait_for()
    start_short_run(page, max_steps=100_000)
    control = page.get_by_role("radiogroup", name="Refresh every")
    control.wait_for()
    expected = default_refresh(local_browser=True, cores=os.cpu_count() or 1)
    assert control.get_by_role("radio", checked=True).inner_text() == expected
    note = page.get_by_text("(the default on a computer like this)", exact=False)
    if expected == "3 s":
        note.first.wait_for()
    else:
        assert note.count() == 0
    page.get_by_role("button", name="Stop", exact=True).click()
    page.locator('[data-testid="stProgress"]', has_text="stopped").first.wait_for()
    assert page.get_by_role("radiogroup", name="Refresh every").count() == 0    # the control goes with the run


# ---- Explore journey (issue 4) ----
def test_explore_journey(start_server, page):
    """Explore opens on the default (first) bundled generator; two keyframe seeds give lerp and slerp strips; the
    GIF download is a real animated GIF of the path (16 frames)."""
    import io

    from PIL import Image

    from gan_core.checkpoints.store import bundled_checkpoints

    names = bundled_checkpoints()
    if not names:
        pytest.skip("no bundled checkpoint in checkpoints/")
    open_page(page, start_server)
    go_to(page, "Explore")
    page.get_by_text(f"Generator: {names[0]}").first.wait_for()       # the default bundled model
    page.get_by_text("Latent nudging").first.wait_for()
    keys = page.get_by_label("Keyframe seeds A, B (, C …)", exact=True)
    keys.fill("7, 42")
    keys.press("Enter")
    page.get_by_text("16 frames: 7 → 42").first.wait_for()
    wait_idle(page)
    for mode in ("lerp", "slerp"):
        page.locator('[data-testid="stMarkdownContainer"] strong', has_text=mode).first.wait_for()
    strips = page.locator('[data-testid="stImage"] img')
    assert strips.count() >= 16 + 2 + 2                                # grid, two strips, two frame views
    data, got = download(page, "Animation (GIF)", with_info=True)
    assert got.suggested_filename == "slerp_7-42.gif"
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 16
    shot = screenshot(page, "explore_strip")
    assert shot.stat().st_size > 10_000
