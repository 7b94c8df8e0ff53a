"""Load figures (issue 15): one real Streamlit server, one session training, N sessions on Explore changing the
seed grid, all in real Chromium contexts on loopback. Bounded: `--seconds` of load per N, 90 s per action.

Per N: open N fresh browser contexts on Explore (default bundled generator; two at a time), then each session
types a new 16-seed range into "Seeds" every 0.5-1.5 s (a person's pace) and waits until the last new seed's
caption is drawn; latency = Enter -> that caption. Meanwhile one more session trains the default model (digits,
dcgan 28 px, widths 32, batch 64) on Train; its images/s during the load comes from the step counter on its
page (steps x batch / wall time). Errors = actions that time out plus Streamlit exception boxes seen. Server RSS
is read from /proc after the N sessions have loaded; RSS per session = (RSS - RSS with the trainer alone) / N.
The run trains in a child process (gan_core/training/worker.py): its memory, and the forkserver's, are printed
once, before the table (RSS and PSS). CPU per N, in cores over the load's wall time: the server process, the
processes below it (the training process and the forkserver), and the rest of the machine (the Chromium sessions,
Playwright and this script: the visitors' side, which on a real deployment runs on the visitors' own machines).

    python -m bench.load_bench --n 1 4 8 [16] [--seconds 30] [--threads 2]     # prints a markdown table
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import time

from bench.app_bench import CHROMIUM_ARGS, REFRESH_OPTIONS, THREADS, Server

TIMEOUT_MS = 90_000
BATCH = 64   # the Train page's default batch size (dcgan preset)
STEP_RE = re.compile(r"step ([\d,]+)/([\d,]+)")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def descendants_mb(pid: int) -> list[tuple[int, float, float]]:
    """(pid, RSS MB, PSS MB) of every process below `pid` (the forkserver and the training process it forked);
    PSS splits the pages they share (torch, copy-on-write from the forkserver) between them."""
    children: dict[int, list[int]] = {}
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                with open(f"/proc/{stat}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(stat))
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                pss = next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024
        except (OSError, StopIteration):
            pss = float("nan")
        out.append((p, rss_mb(p), pss))
    return out


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK          # utime, stime (fields 14, 15 of stat)


def busy_s() -> float:
    """CPU seconds the whole machine spent busy so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


def cpu_sample(server_pid: int) -> tuple[float, float, float, float]:
    """(wall time, server CPU s, CPU s of the processes below it, machine busy CPU s)."""
    below = sum(cpu_s(pid) for pid, _, _ in descendants_mb(server_pid))
    return time.perf_counter(), cpu_s(server_pid), below, busy_s()


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else (xs[0] if xs else float("nan"))


async def _new_page(browser):
    ctx = await browser.new_context(viewport={"width": 1300, "height": 1400})
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


async def start_training(browser, url: str):
    """The trainer session: Train page, long run (200 epochs of digits), Start; returns its page."""
    ctx, page = await _new_page(browser)
    await page.goto(f"{url}/train")
    epochs = page.get_by_label("Epochs, exact", exact=True)
    await epochs.fill("200")
    await epochs.press("Enter")
    await page.get_by_role("button", name="Start training").click()
    # Every second, as in earlier sessions' figures (a loopback browser on <= 4 cores would start at "3 s").
    await page.locator(REFRESH_OPTIONS).get_by_text("1 s", exact=True).click()
    await page.get_by_text(STEP_RE).first.wait_for()
    return ctx, page


async def train_step(page) -> int:
    # the live panel's progress bar in the main area (the sidebar's has no text)
    text = await page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first.inner_text()
    m = STEP_RE.search(text)
    return int(m.group(1).replace(",", "")) if m else 0


async def explorer(browser, url: str, index: int, shared: dict, latencies: list[float], errors: list[str]) -> None:
    """One visitor on Explore: open it, wait for the start signal, change the seed grid until shared['until']."""
    ctx, page = await _new_page(browser)
    try:
        async with shared["door"]:   # visitors arrive two at a time, not all in the same instant
            await page.goto(f"{url}/explore")
            seeds = page.get_by_label("Seeds (e.g. 0-15 or 3, 7, 42)", exact=True)
            await seeds.wait_for()
        shared["opened"] += 1
        await shared["go"].wait()
        rng = random.Random(index)
        while time.monotonic() < shared["until"]:
            await asyncio.sleep(rng.uniform(0.5, 1.5))
            first = rng.randrange(10_000, 2_000_000)
            t0 = time.perf_counter()
            try:
                await seeds.fill(f"{first}-{first + 15}")
                await seeds.press("Enter")
                await page.get_by_text(f"seed {first + 15}", exact=True).first.wait_for()
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # a timeout or a closed page: counted, the session goes on
                errors.append(f"session {index}: {type(exc).__name__}")
            if await page.locator('[data-testid="stException"]').count():
                errors.append(f"session {index}: exception box")
                break
    except Exception as exc:  # could not even open Explore
        errors.append(f"session {index}: opening Explore: {type(exc).__name__}")
        shared["opened"] += 1
    finally:
        await ctx.close()


async def level(browser, url: str, server_pid: int, trainer, n: int, seconds: float, base_rss: float) -> dict:
    """N explorers for `seconds` while the trainer trains; returns one row of the table."""
    shared = {"opened": 0, "go": asyncio.Event(), "until": float("inf"), "door": asyncio.Semaphore(2)}
    latencies: list[float] = []
    errors: list[str] = []
    tasks = [asyncio.create_task(explorer(browser, url, i, shared, latencies, errors)) for i in range(n)]
    while shared["opened"] < n:
        await asyncio.sleep(0.2)
    rss = rss_mb(server_pid)
    s0, t0 = await train_step(trainer), time.perf_counter()
    c0 = cpu_sample(server_pid)
    shared["until"] = time.monotonic() + seconds
    shared["go"].set()
    await asyncio.gather(*tasks)
    c1 = cpu_sample(server_pid)
    s1, t1 = await train_step(trainer), time.perf_counter()
    wall = c1[0] - c0[0]
    server, below, busy = ((c1[i] - c0[i]) / wall for i in (1, 2, 3))
    return {"n": n, "changes": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors))[:3],
            "median": statistics.median(latencies) if latencies else float("nan"), "p95": p95(latencies),
            "rss": rss, "rss_per": (rss - base_rss) / n, "train_ips": (s1 - s0) * BATCH / (t1 - t0),
            "training": s1 > s0, "cores": (server, below, busy - server - below)}


async def run(ns: list[int], seconds: float) -> list[dict]:
    from playwright.async_api import async_playwright

    server = Server()
    try:
        server.wait_healthy()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            trainer_ctx, trainer = await start_training(browser, server.url)
            await asyncio.sleep(5)                              # past the first steps' warm-up
            base_rss = rss_mb(server.proc.pid)
            below = descendants_mb(server.proc.pid)
            pss = sum(q for _, _, q in below)
            print(f"server RSS {base_rss:.0f} MB; below it (pid, RSS MB, PSS MB): "
                  f"{[(pid, round(r), round(q)) for pid, r, q in below]}; their PSS sum {pss:.0f} MB", flush=True)
            s0, t0 = await train_step(trainer), time.perf_counter()
            c0 = cpu_sample(server.proc.pid)
            await asyncio.sleep(seconds / 2)
            c1 = cpu_sample(server.proc.pid)
            alone = (await train_step(trainer) - s0) * BATCH / (time.perf_counter() - t0)
            server_c, below_c, busy_c = ((c1[i] - c0[i]) / (c1[0] - c0[0]) for i in (1, 2, 3))
            rows = [{"n": 0, "changes": 0, "errors": 0, "error_kinds": [], "median": float("nan"),
                     "p95": float("nan"), "rss": base_rss, "rss_per": float("nan"), "train_ips": alone,
                     "training": True, "cores": (server_c, below_c, busy_c - server_c - below_c)}]
            for n in ns:
                rows.append(await level(browser, server.url, server.proc.pid, trainer, n, seconds, base_rss))
            await trainer_ctx.close()
            await browser.close()
        return rows
    finally:
        server.stop()


def table(rows: list[dict], *, seconds: float, threads: int) -> str:
    lines = [f"One session training (digits, dcgan 28 px, widths 32, batch 64) + N sessions on Explore changing a "
             f"16-seed grid every 0.5-1.5 s, {seconds:.0f} s per N; OMP_NUM_THREADS={threads}; "
             f"1-min load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.", "",
             "| N on Explore | grid changes | median (s) | p95 (s) | errors | server RSS (MB) | RSS per session (MB) "
             "| training img/s | still training | CPU cores: server / training / visitors' side |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']} | {r['changes']} | {r['median']:.2f} | {r['p95']:.2f} | {r['errors']} | "
                     f"{r['rss']:.0f} | {r['rss_per']:.0f} | {r['train_ips']:.0f} | "
                     f"{'yes' if r['training'] else 'NO'} | {' / '.join(f'{c:.2f}' for c in r['cores'])} |")
    kinds = sorted({k for r in rows for k in r["error_kinds"]})
    if kinds:
        lines.append(f"\nerrors seen (first kinds): {'; '.join(kinds)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1, 4, 8], help="numbers of Explore sessions, in turn")
    ap.add_argument("--seconds", type=float, default=30.0, help="load duration per N")
    ap.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS for the server")
    args = ap.parse_args(argv)
    if max(args.n) > 32 or args.seconds > 300:
        ap.error("bounded: at most 32 sessions and 300 s per level")
    THREADS["OMP_NUM_THREADS"] = str(args.threads)
    rows = asyncio.run(run(args.n, args.seconds))
    print(table(rows, seconds=args.seconds, threads=args.threads))


if __name__ == "__main__":
    main()
