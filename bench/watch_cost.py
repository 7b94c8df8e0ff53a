"""What watching the Train page costs a run when the browser shares the server's cores (issue 15, item 5).

One server (2 intra-op threads unless `--threads`), one Chromium page: Train, default settings, Start; after a
warm-up the page either stays on Train ("watch", with the chosen "Refresh every") or goes to Home ("home": the
run trains on, nothing is drawn). Over a window of `--seconds` it reads the CPU of every process by role from
/proc (server, training processes, Chromium's renderer / GPU / browser processes) and the run's own images/s
from its CSV rows inside the window (the step shown before and after it), then runs the CLI's 600-step run for
the ratio. The run itself is stopped after the window.

    python -m bench.watch_cost --mode home --mode watch --refresh "1 s" --refresh "10 s" --repeats 2
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

from bench import app_bench as ab
from bench.load_bench import cpu_s

STEP_RE = re.compile(r"step ([\d,]+)/")


def _role(cmdline: str) -> str | None:
    if "chromium" in cmdline or "chrome" in cmdline:
        kind = cmdline.split("--type=")[1].split()[0] if "--type=" in cmdline else "browser"
        return f"chromium {kind}"
    if "streamlit run" in cmdline:
        return "server"
    if "multiprocessing" in cmdline or "forkserver" in cmdline:
        return "training"          # the forkserver (idle) and the training process it forked
    return None


def cpu_by_role() -> dict[str, float]:
    """CPU seconds so far of every process this bench cares about, summed by role."""
    out: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        role = _role(cmdline)
        if role:
            out[role] = out.get(role, 0.0) + cpu_s(int(pid))
    return out


def _step(page) -> int:
    text = page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first.inner_text()
    m = STEP_RE.search(text)
    return int(m.group(1).replace(",", "")) if m else 0


def one(p, mode: str, refresh: str, seconds: float) -> dict:
    server = ab.Server()
    try:
        server.wait_healthy()
        browser = ab._browser(p)
        page = ab._new_page(browser)
        page.goto(f"{server.url}/train")
        page.get_by_text("per epoch").first.wait_for()
        epochs = page.get_by_label("Epochs, exact", exact=True)
        epochs.fill("200")
        epochs.press("Enter")
        time.sleep(1.0)
        page.get_by_role("button", name="Start training").click()
        ab.pick_refresh(page, refresh)
        time.sleep(5.0)                                        # the run is past its warm-up, the page drawn
        first = _step(page)
        if mode == "home":
            page.get_by_role("link", name="Home").first.click()
            time.sleep(1.0)
        c0, t0 = cpu_by_role(), time.perf_counter()
        time.sleep(seconds)
        c1, t1 = cpu_by_role(), time.perf_counter()
        if mode == "home":
            page.get_by_role("link", name="Train").first.click()
        page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first.wait_for()
        time.sleep(0.5)
        last = _step(page)
        page.get_by_role("button", name="Stop").click()
        page.locator('[data-testid="stMain"] [data-testid="stProgress"]', has_text="stopped").first.wait_for()
        text = ab.download_run_csv(page)
        browser.close()
    finally:
        server.stop()
    cores = {k: (c1.get(k, 0.0) - c0.get(k, 0.0)) / (t1 - t0) for k in sorted(set(c0) | set(c1))}
    # Rows inside the window, one metrics flush (10 steps) of margin at each end.
    return {"app": ab.csv_images_per_s(text, after=first + 10, upto=last - 10), "cores": cores, "steps": (first, last)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("watch", "home"), action="append")
    ap.add_argument("--refresh", choices=("1 s", "3 s", "10 s"), action="append")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    ab.THREADS["OMP_NUM_THREADS"] = str(args.threads)
    cases = [(m, r) for m in (args.mode or ["watch"]) for r in ((args.refresh or ["1 s"]) if m == "watch" else ["1 s"])]
    from playwright.sync_api import sync_playwright

    results: dict[tuple[str, str], list[dict]] = {c: [] for c in cases}
    with sync_playwright() as p:
        for k in range(args.repeats):
            for mode, refresh in cases:
                r = one(p, mode, refresh, args.seconds)
                r["cli"] = ab.cli_images_per_s(600)
                results[(mode, refresh)].append(r)
                print(f"{mode} {refresh}: app {r['app']:.0f} CLI {r['cli']:.0f} ratio {r['app'] / r['cli']:.2f}, "
                      f"cores " + ", ".join(f"{k} {v:.2f}" for k, v in r["cores"].items() if v >= 0.005), flush=True)
    print("\n| page | refresh | in-app / CLI, median (min-max) | training cores | Chromium renderer cores | "
          "other Chromium cores | server cores |\n| --- | --- | --- | --- | --- | --- | --- |")
    for (mode, refresh), rs in results.items():
        ratios = [r["app"] / r["cli"] for r in rs]

        def med(role_test) -> float:
            return statistics.median(sum(v for k, v in r["cores"].items() if role_test(k)) for r in rs)

        print(f"| {'Train' if mode == 'watch' else 'Home (run trains on)'} | {refresh if mode == 'watch' else '-'} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | "
              f"{med(lambda k: k == 'training'):.2f} | {med(lambda k: k == 'chromium renderer'):.2f} | "
              f"{med(lambda k: k.startswith('chromium') and k != 'chromium renderer'):.2f} | "
              f"{med(lambda k: k == 'server'):.2f} |")


if __name__ == "__main__":
    main()
