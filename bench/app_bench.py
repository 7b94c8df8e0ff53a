"""App benchmarks (issue 3), measured through the real server and Debian's Chromium, never asserted by tests.

1. cold start: spawn `streamlit run app.py`, open it in a fresh browser; time to the Home title (first paint).
2. Start -> first curve and grid: on Train with the default settings (digits, dcgan 28 px, widths 32, batch 64)
   press Start training (once the page is fully drawn, plus 1 s); time until the D(x) trace has points and the
   live sample grid is shown.
3. in-app throughput vs the CLI: a run of N steps with the page open in Chromium on the same machine (the live
   fragment redrawing every second, or every `--refresh`) against `python -m gan_core train` with the same
   settings, alternated app, CLI, app, CLI.
   Both figures are steady-state images/s: the CLI prints `images_per_s=` (Run.steady_images_per_s, after 5
   warm-up steps); the app's comes from the run CSV (per-row flush-interval rates, harmonic mean over
   steps 11..N, i.e. images over wall time). Both use the engine's defaults (metrics read every 10 steps).
4. job vs the CLI (`--only job`): the same run as a `TrainingJob` in a fresh process (the server's path: a
   training process forked from the forkserver, rows mirrored over the pipe) without Streamlit or a browser,
   alternated with the CLI: what the app's engine costs apart from the page being watched on the same cores.

    python -m bench.app_bench                      # all three, 3 repeats / pairs, 1 intra-op thread
    python -m bench.app_bench --only throughput --steps 200 --pairs 3 --threads 2
    python -m bench.app_bench --only throughput --steps 600 --pairs 3 --threads 2 --refresh "10 s"

`--threads` sets OMP_NUM_THREADS for the server and the CLI alike. On a 2-core machine shared with other jobs,
2 threads can be 20x slower than 1 (each parallel op waits for a descheduled thread), so 1 is the default here.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WARMUP = 10  # rows of the first metrics flush (steps 1-10) hold the warm-up; the CLI skips 5 steps


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


THREADS: dict[str, str] = {}  # extra environment for every subprocess (OMP_NUM_THREADS)


class Server:
    """`streamlit run app.py` on a free loopback port with its own data dir."""

    def __init__(self, extra_env: dict[str, str] | None = None, script: str = "app.py") -> None:
        self.port = _port()
        self.home = tempfile.mkdtemp(prefix="app_bench_")
        self.url = f"http://127.0.0.1:{self.port}"
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env={**os.environ, **THREADS, **(extra_env or {}), "DCGAN_STUDIO_HOME": self.home},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_healthy(self, timeout: float = 120) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - self.t_spawn
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def _browser(p):
    return p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)


def _new_page(browser):
    page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
    page.set_default_timeout(300_000)
    return page


def cold_start(p, repeats: int) -> list[dict]:
    out = []
    for _ in range(repeats):
        server = Server()
        try:
            healthy = server.wait_healthy()
            browser = _browser(p)
            page = _new_page(browser)
            t0 = time.perf_counter()
            page.goto(server.url)
            page.wait_for_selector('[data-testid="stMain"] h1:has-text("DCGAN Studio")')
            paint = time.perf_counter()
            page.get_by_text("Device:").first.wait_for()
            done = time.perf_counter()
            out.append({"spawn_to_healthy_s": healthy, "open_to_first_paint_s": paint - t0,
                        "spawn_to_first_paint_s": paint - server.t_spawn, "open_to_device_shown_s": done - t0})
            browser.close()
        finally:
            server.stop()
    return out


def _live_drawn(page) -> None:
    """The D(x) trace has points (its SVG path is drawn; the empty chart before the first rows has none) and the
    live sample grid is shown."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .scatterlayer .trace')]"
        ".some(t => (t.querySelector('.js-line')?.getAttribute('d') || '').length > 10)", polling=50)
    page.get_by_text("The same 64 noise vectors").first.wait_for()


def start_to_first(p, repeats: int) -> list[float]:
    server = Server()
    out = []
    try:
        server.wait_healthy()
        browser = _browser(p)
        for _ in range(repeats):
            page = _new_page(browser)
            page.goto(f"{server.url}/train")
            page.get_by_role("button", name="Start training").wait_for()
            page.get_by_text("per epoch").first.wait_for()
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')   # the page is fully drawn
            time.sleep(1.0)                          # a person reads the page before pressing Start
            t0 = time.perf_counter()
            page.get_by_role("button", name="Start training").click()
            _live_drawn(page)
            out.append(time.perf_counter() - t0)
            page.get_by_role("button", name="Stop").click()
            page.locator('[data-testid="stMain"] [data-testid="stProgress"]', has_text="stopped").first.wait_for()
            page.context.close()
        browser.close()
    finally:
        server.stop()
    return out


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function("([l, v]) => [...document.querySelectorAll('input')].some(i => "
                           "i.getAttribute('aria-label') === l && i.value === v)", arg=[label, str(value)])
    time.sleep(1.0)


REFRESH_OPTIONS = '[data-testid="stButtonGroup"]'   # the Train page's "Refresh every" control


def pick_refresh(page, refresh: str) -> None:
    """Click this "Refresh every" option. The control appears once the run is active, and a browser on a machine of
    at most 4 cores starts at "3 s" (ui/train/live.py: default_refresh), so a bench picks the one it measures."""
    page.locator(REFRESH_OPTIONS).get_by_text(refresh, exact=True).click()


def app_images_per_s(p, steps: int, refresh: str = "1 s") -> float:
    server = Server()
    try:
        server.wait_healthy()
        browser = _browser(p)
        page = _new_page(browser)
        page.goto(f"{server.url}/train")
        page.get_by_text("per epoch").first.wait_for()
        page.get_by_text("Advanced", exact=True).click()
        _set_number(page, "Max steps (0 = all epochs)", steps)
        page.get_by_role("button", name="Start training").click()
        pick_refresh(page, refresh)
        try:
            page.locator('[data-testid="stMain"] [data-testid="stProgress"]', has_text="finished").first.wait_for()
        except Exception:
            page.screenshot(path=str(Path(tempfile.gettempdir()) / "app_bench_failure.png"))
            raise
        text = download_run_csv(page)
        browser.close()
    finally:
        server.stop()
    return csv_images_per_s(text, after=WARMUP)


def download_run_csv(page) -> str:
    """The ended run's CSV through the page's "Run CSV" button (retried: the rerun after the run ended redraws the
    download buttons, and a click during it can be lost)."""
    time.sleep(1.5)
    for attempt in range(3):
        try:
            with page.expect_download(timeout=30_000) as dl:
                page.get_by_role("button", name="Run CSV").click()
            break
        except Exception:
            if attempt == 2:
                raise
    return Path(dl.value.path()).read_text()


def csv_images_per_s(text: str, *, after: int, upto: float = float("inf")) -> float:
    """Images/s of a run CSV's rows with after < step <= upto: the harmonic mean of the per-row (flush interval)
    rates, i.e. images over wall time (the batch size cancels out)."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    head, body = rows[0], rows[1:]
    i_step, i_rate = head.index("step"), head.index("images_per_s")
    rates = [float(r[i_rate]) for r in body if after < int(r[i_step]) <= upto]
    return len(rates) / sum(1 / r for r in rates)


def cli_images_per_s(steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-m", "gan_core", "train", "--dataset", "digits", "--preset", "dcgan", "--epochs", "10",
             "--max-steps", str(steps), "--sample-every", "25", "--device", "auto",
             "--quiet", "--out", str(Path(tmp) / "run")],
            cwd=ROOT, env={**os.environ, **THREADS, "DCGAN_STUDIO_HOME": tmp}, capture_output=True, text=True,
            check=True)
    return float(re.search(r"images_per_s=([\d.]+)", out.stdout).group(1))


_JOB = """
import sys
import ui                                   # the server's OpenMP setting, and what training processes get instead
from gan_core.config import with_preset
from gan_core.data.datasets import load_images
from gan_core.training import worker
from gan_core.training.job_manager import JobManager
from gan_core.training.jobs import TrainingJob
worker.prestart(env=ui.TRAINING_ENV)        # as ui/warmup.py does at the server's start
m, t = with_preset("dcgan", train=dict(dataset="digits", epochs=10, max_steps=int(sys.argv[1]), device="cpu",
                                       sample_every=25))
job = TrainingJob(m, t, owner="bench", images=load_images("digits", image_size=28, channels=1))
JobManager().submit(job)
job.join(900)
rates = [r["images_per_s"] for r in job.history() if r["step"] > %d]
print(len(rates) / sum(1 / r for r in rates))
""" % WARMUP


def job_images_per_s(steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", _JOB, str(steps)], cwd=ROOT, check=True, capture_output=True,
                             text=True, env={**os.environ, **THREADS, "DCGAN_STUDIO_HOME": tmp})
    return float(out.stdout.split()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("cold", "first", "throughput", "job"), action="append")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for the server and the CLI (0: unset)")
    ap.add_argument("--refresh", choices=("1 s", "3 s", "10 s"), default="1 s",
                    help="throughput: pick this 'Refresh every' on the Train page once the run starts (default 1 s)")
    args = ap.parse_args(argv)
    if args.threads:
        THREADS["OMP_NUM_THREADS"] = str(args.threads)
    only = set(args.only or ("cold", "first", "throughput"))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        if "cold" in only:
            runs = cold_start(p, args.repeats)
            for r in runs:
                print("cold start:", {k: round(v, 2) for k, v in r.items()}, flush=True)
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"cold start median: open->first paint {med['open_to_first_paint_s']:.2f} s, "
                  f"spawn->first paint {med['spawn_to_first_paint_s']:.2f} s", flush=True)
        if "first" in only:
            times = start_to_first(p, args.repeats)
            print("start -> first curve + grid (s):", [round(t, 2) for t in times],
                  f"median {statistics.median(times):.2f}", flush=True)
        if "throughput" in only:
            ratios = []
            for k in range(args.pairs):
                app = app_images_per_s(p, args.steps, args.refresh)
                cli = cli_images_per_s(args.steps)
                ratios.append(app / cli)
                print(f"pair {k + 1}: app {app:.0f} images/s, CLI {cli:.0f} images/s, ratio {app / cli:.2f}",
                      flush=True)
            print(f"in-app / CLI throughput: median {statistics.median(ratios):.2f} "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})", flush=True)
        if "job" in only:
            ratios = []
            for k in range(args.pairs):
                job, cli = job_images_per_s(args.steps), cli_images_per_s(args.steps)
                ratios.append(job / cli)
                print(f"pair {k + 1}: job {job:.0f} images/s, CLI {cli:.0f} images/s, ratio {job / cli:.2f}",
                      flush=True)
            print(f"job / CLI throughput: median {statistics.median(ratios):.2f} "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})", flush=True)


if __name__ == "__main__":
    main()
