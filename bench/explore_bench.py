"""Explore's latency budget on the CPU: a 16-frame interpolation strip at 32x32 (<= 0.3 s), the GIF export
(<= 1 s), and a page interaction -> updated image (<= 0.5 s). Medians of several runs.

The generator is the bundled `emoji-dcgan` (32x32 RGB) when present, else an untrained dcgan of the same shape
(inference cost does not depend on the weights). The strip is measured end to end as the page and the CLI do it:
seeded keyframes -> slerp path -> G -> uint8 -> PNG strip, with fresh seeds every run (no cache). The interaction
is measured in Streamlit's AppTest (the page script run on the server after a keyframe change, the part the app
controls; new seeds every run so nothing is cached) and, with --browser, in headless Chromium from typing the
keyframes to the new caption being drawn.

    python -m bench.explore_bench [--runs 7] [--browser] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "pages" / "explore.py"
BUDGETS = {"strip": 0.3, "gif": 1.0, "interaction": 0.5}


def _generator():
    from gan_core.checkpoints.store import bundled_checkpoints, load_generator
    from gan_core.config import ModelConfig
    from gan_core.models import Generator

    if "emoji-dcgan" in bundled_checkpoints():
        loaded = load_generator("emoji-dcgan")
        return loaded.generator, "emoji-dcgan"
    cfg = ModelConfig(preset="dcgan", image_size=32, channels=3, z_dim=100, g_width=32, d_width=32)
    return Generator(cfg).eval(), "untrained dcgan 32x32x3 width 32"


def _median(fn, runs: int) -> tuple[float, list[float]]:
    fn(0)                                                   # warm-up (allocator, first-call overheads)
    times = []
    for i in range(1, runs + 1):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def bench_strip_and_gif(runs: int) -> dict:
    from gan_core.export import gif_bytes, grid_png
    from gan_core.latent import keyframe_path, z_from_seeds
    from gan_core.sampling import images_from_z

    g, name = _generator()
    frames: dict[int, torch.Tensor] = {}

    def strip(i: int) -> None:
        path = keyframe_path(z_from_seeds([1000 + 2 * i, 1001 + 2 * i], g.config.z_dim), 16, mode="slerp")
        frames[i] = images_from_z(g, path)                  # (16, 3, 32, 32)
        grid_png(frames[i], nrow=16)

    strip_s, strip_all = _median(strip, runs)
    gif_s, gif_all = _median(lambda i: gif_bytes(frames[i], duration_ms=100, scale=4), runs)  # 128 px, as the CLI
    return {"generator": name, "strip": strip_s, "strip_runs": strip_all, "gif": gif_s, "gif_runs": gif_all}


def bench_interaction(runs: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=120)
    if "emoji-dcgan" in __import__("gan_core.checkpoints.store", fromlist=["x"]).bundled_checkpoints():
        at.session_state["explore_source"] = "emoji-dcgan"
    at.run()
    assert not at.exception, at.exception

    def interact(i: int) -> None:
        at.text_input(key="explore_keys").set_value(f"{2000 + 3 * i}, {2001 + 3 * i}").run()
        assert not at.exception

    s, all_runs = _median(interact, runs)
    return {"interaction": s, "interaction_runs": all_runs}


def bench_browser(runs: int) -> dict:
    """Real app in Chromium: type new keyframes, press Enter, wait until the caption for them is drawn."""
    import subprocess
    import sys

    from playwright.sync_api import sync_playwright

    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    times = []
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"],
                                  headless=True)
            pg = b.new_page(viewport={"width": 1400, "height": 1600})
            pg.set_default_timeout(120_000)
            pg.goto(url)                                    # Home first: app.py sets up navigation and layout
            pg.locator('[data-testid="stSidebarNav"] a', has_text="Explore").first.click()
            pg.get_by_text("Latent nudging").first.wait_for()
            box = pg.get_by_label("Keyframe seeds A, B (, C …)")
            for i in range(runs + 1):
                a, c = 3000 + 3 * i, 3001 + 3 * i
                t0 = time.perf_counter()
                box.fill(f"{a}, {c}")
                box.press("Enter")
                pg.get_by_text(f"{a} → {c}").first.wait_for()
                pg.locator('[data-testid="stImage"] img').last.wait_for()
                if i:
                    times.append(time.perf_counter() - t0)
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {"browser": statistics.median(times), "browser_runs": times}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--browser", action="store_true", help="also time the interaction in headless Chromium")
    p.add_argument("--markdown", action="store_true", help="print a table for BENCHMARKS.md")
    args = p.parse_args()
    res = {**bench_strip_and_gif(args.runs), **bench_interaction(args.runs)}
    if args.browser:
        res.update(bench_browser(args.runs))
    load = os.getloadavg()[0]
    rows = [("16-frame slerp strip, 32x32 (z -> G -> PNG)", "strip", "≤ 0.3 s"),
            ("GIF export, 16 frames at 128 px", "gif", "≤ 1 s"),
            ("interaction -> updated image (AppTest script run)", "interaction", "≤ 0.5 s")]
    if args.browser:
        rows.append(("interaction -> updated image (Chromium, end to end)", "browser", "≤ 0.5 s"))
    print(f"generator: {res['generator']}; torch threads {torch.get_num_threads()}; "
          f"1-min load average {load:.1f}; medians of {args.runs} runs")
    for label, k, budget in rows:
        ok = res[k] <= BUDGETS.get(k, BUDGETS["interaction"])
        all_runs = res[f"{k}_runs"]
        spread = f"{res[k]:.3f} s ({min(all_runs):.3f}-{max(all_runs):.3f})"
        print(f"| {label} | {spread} | {budget} | {'met' if ok else 'NOT met'} |" if args.markdown
              else f"{label}: median {spread} (budget {budget}) {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
