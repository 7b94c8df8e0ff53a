"""First paint of each page on a fresh server (issue 15), through the real server and Debian's Chromium.

For every page and repeat: spawn `streamlit run app.py` (its own data dir, loopback), open Home in a fresh
browser, wait for Home's title, click the page in the sidebar at once (a visitor who knows where to go), and time
the click -> the page's first usable control: Train's "Start training" button, Explore's "Generator:" line,
Evaluate's "Real images" picker. Also reported: the server's start (spawn -> /_stcore/health answering), which
app.py's start-up hook lengthens by importing the engine before the server answers. `--settle S`: the first
visitor arrives S s after the server answers (a Space is up long before its visitors; 0 = at once, the worst
case). Medians over fresh servers; `--public` runs them in public mode; `--roots` compares checkouts of the app
(e.g. main and this branch; `DIR:other.py` starts `streamlit run other.py` there instead of app.py), interleaved
so a burst of load elsewhere hits all of them alike.

    python -m bench.first_paint --repeats 3                       # prints a markdown table
    python -m bench.first_paint --repeats 3 --roots /tmp/base .   # before/after, same run
"""
from __future__ import annotations

import argparse
import statistics
import time

from pathlib import Path

from bench import app_bench
from bench.app_bench import THREADS, Server, _browser, _new_page

TARGETS = {   # page title in the sidebar -> what "usable" means there (a Playwright locator builder)
    "Train": lambda page: page.get_by_role("button", name="Start training"),
    "Explore": lambda page: page.get_by_text("Generator:").first,
    "Evaluate": lambda page: page.get_by_text("Real images (for FID / KID)").first,
}
# Train only: its settings (the G width field), which can paint after the button while the browser loads their code
SETTINGS = lambda page: page.get_by_label("G width (ngf)", exact=True)  # noqa: E731


def first_paint(p, title: str, *, public: bool, script: str = "app.py",
                settle: float = 0.0) -> tuple[float, float, float | None]:
    """(click -> first control, spawn -> server answering, click -> Train's settings or None), in seconds, on a
    fresh server."""
    server = Server(extra_env={"DCGAN_STUDIO_PUBLIC": "1"} if public else None, script=script)
    try:
        started = server.wait_healthy()
        time.sleep(settle)   # the first visitor arrives this long after the server is up
        browser = _browser(p)
        page = _new_page(browser)
        page.goto(server.url)
        page.wait_for_selector('[data-testid="stMain"] h1:has-text("DCGAN Studio")')
        t0 = time.perf_counter()
        page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
        TARGETS[title](page).wait_for()
        took = time.perf_counter() - t0
        settings = None
        if title == "Train":
            SETTINGS(page).wait_for()
            settings = time.perf_counter() - t0
        browser.close()
        return took, started, settings
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pages", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    ap.add_argument("--public", action="store_true", help="DCGAN_STUDIO_PUBLIC=1 on the server")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for the server")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds between the server answering and the first visitor (0: at once)")
    ap.add_argument("--roots", nargs="+", default=[str(app_bench.ROOT)],
                    help="app checkouts to compare; ROOT:other.py runs `streamlit run other.py` there")
    args = ap.parse_args(argv)
    THREADS["OMP_NUM_THREADS"] = str(args.threads)
    from playwright.sync_api import sync_playwright

    rows: dict[tuple[str, str], list[float]] = {}
    starts: dict[str, list[float]] = {}
    settings: dict[tuple[str, str], list[float]] = {}
    with sync_playwright() as p:
        for _ in range(args.repeats):          # interleaved, so a burst of load elsewhere hits every case alike
            for root in args.roots:
                folder, _, script = root.partition(":")
                app_bench.ROOT = Path(folder).resolve()   # Server() starts `streamlit run <script>` in ROOT
                for title in args.pages:
                    took, started, drawn = first_paint(p, title, public=args.public, script=script or "app.py",
                                                       settle=args.settle)
                    rows.setdefault((root, title), []).append(took)
                    starts.setdefault(root, []).append(started)
                    if drawn is not None:
                        settings.setdefault((root, title), []).append(drawn)
                    print(f"{root} {title}: {took:.2f} s (server answered {started:.1f} s after spawn"
                          + (f"; settings drawn at {drawn:.2f} s)" if drawn is not None else ")"), flush=True)
    print("| app | page | click -> first control, median (s) | min | max | fresh servers | server start, median (s) "
          "| Train: click -> settings, median (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for (root, title), times in rows.items():
        drawn = settings.get((root, title))
        print(f"| {root} | {title} | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} | "
              f"{len(times)} | {statistics.median(starts[root]):.1f} | "
              f"{f'{statistics.median(drawn):.2f}' if drawn else '–'} |")


if __name__ == "__main__":
    main()
