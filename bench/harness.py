"""Side-by-side benchmark: the reference dcgan loop (bench/reference_dcgan.py) against gan_core, paired A, B, A, B.

Each run is a fresh subprocess (`--worker reference|gan_core`), so neither side inherits the other's allocator,
thread pool or DataLoader workers; both get the same data (the built-in digits), architecture, batch size,
seed and intra-op thread count. The gan_core side is driven exactly as `python -m gan_core train` drives it
(load_images -> Trainer -> Run.advance until done) and reports `Run.steady_images_per_s()`, the figure behind
the CLI's `images_per_s=` line. The reference reports images/s over the same steps after the same warm-up.
The verdict is the median of the per-pair ratios gan_core / reference (pairs share the machine's state).

    python -m bench.harness                       # every case this machine can run, 3 pairs each
    python -m bench.harness --case cpu-digits32 --pairs 5 --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench.reference_dcgan import process_tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("reference", "gan_core")


@dataclass(frozen=True)
class Case:
    name: str
    image_size: int
    channels: int
    z_dim: int = 100
    width: int = 64          # g_width = d_width (ngf = ndf in the reference)
    batch_size: int = 64
    steps: int = 80          # total steps per run, warm-up included
    warmup: int = 5          # steps left out of the steady-state figure
    device: str = "cpu"


CASES = {c.name: c for c in (
    # 4,000 digits / 64 = 62 steps per epoch: 80 steps cross one epoch boundary (the reference re-spawns workers).
    Case("cpu-digits32", image_size=32, channels=1, steps=80, warmup=5),
    Case("cpu-rgb64", image_size=64, channels=3, steps=16, warmup=4),
    # The app's default model (dcgan 28 px, widths 32): where a user on a CPU feels the engine.
    Case("cpu-app28", image_size=28, channels=1, width=32, steps=200, warmup=10),
    # GPU: same nets; batch 256 on both sides (the reference's data path, not the GPU, is its limit there).
    Case("cuda-digits32", image_size=32, channels=1, batch_size=256, steps=300, warmup=30, device="cuda"),
    Case("cuda-rgb64", image_size=64, channels=3, batch_size=256, steps=200, warmup=30, device="cuda"),
)}


def _source_images(case: Case):
    from gan_core.data.datasets import load_digits

    images, _ = load_digits(split="train")                         # uint8 (4000, 1, 28, 28), the raw source
    return images


def run_reference(case: Case, *, workers: int = 2) -> dict:
    """The reference loop in this process; images are resized per image by its DataLoader workers."""
    from bench.reference_dcgan import train_reference

    r = train_reference(_source_images(case), image_size=case.image_size, channels=case.channels,
                        z_dim=case.z_dim, width=case.width, batch_size=case.batch_size, steps=case.steps,
                        warmup=case.warmup, workers=workers, device=case.device)
    return {"side": "reference", "steps": r.steps, "images_per_s": r.images_per_s,
            "images_per_cpu_s": r.images_per_cpu_s, "metrics": r.metrics}


def run_gan_core(case: Case) -> dict:
    """gan_core as the CLI runs it: decode once, Trainer + Run, advance until done, the steady figure."""
    from gan_core.config import with_preset
    from gan_core.data.datasets import load_images
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer
    from gan_core.training.devices import resolve_device

    model_cfg, train_cfg = with_preset(
        "dcgan", model=dict(image_size=case.image_size, channels=case.channels, z_dim=case.z_dim,
                            g_width=case.width, d_width=case.width, g_refine=0),   # the reference's G: no refine block
        train=dict(batch_size=case.batch_size, max_steps=case.steps, epochs=100_000, device=case.device))
    device = resolve_device(train_cfg.device)
    data = load_images("digits", image_size=case.image_size, channels=case.channels)
    run = Run(Trainer(model_cfg, train_cfg, images=data.images, device=device), warmup_steps=case.warmup)
    c0 = None
    while not run.done:
        run.advance()
        if c0 is None and run.trainer.step_count == case.warmup:  # where Run starts its steady clock
            c0 = process_tree_cpu_seconds()
    run.flush()
    rate = run.steady_images_per_s()
    c1 = process_tree_cpu_seconds()
    counted = (case.steps - case.warmup) * run.trainer.batch_size
    last = run.history[-1]
    metrics = {k: last[k] for k in ("loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after")}
    return {"side": "gan_core", "steps": run.trainer.step_count, "images_per_s": rate,
            "images_per_cpu_s": counted / max(c1 - c0, 1e-9), "metrics": metrics}


def run_side(side: str, case: Case) -> dict:
    return run_reference(case) if side == "reference" else run_gan_core(case)


def summarize(reference: list[float], gan_core: list[float]) -> dict:
    """Medians, ranges and the per-pair ratios gan_core / reference (pair k = k-th run of each side)."""
    ratios = [g / r for r, g in zip(reference, gan_core) if r > 0 and math.isfinite(r) and math.isfinite(g)]
    span = lambda xs: (min(xs), max(xs)) if xs else (float("nan"), float("nan"))  # noqa: E731
    return {"reference_median": statistics.median(reference), "reference_range": span(reference),
            "gan_core_median": statistics.median(gan_core), "gan_core_range": span(gan_core),
            "ratios": ratios, "ratio_median": statistics.median(ratios) if ratios else float("nan"),
            "ratio_range": span(ratios)}


def _worker_cmd(side: str, case: Case, threads: int) -> list[str]:
    return [sys.executable, "-m", "bench.harness", "--worker", side, "--threads", str(threads),
            "--case-json", json.dumps(asdict(case))]


def _spawn(side: str, case: Case, threads: int) -> dict:
    proc = subprocess.run(_worker_cmd(side, case, threads), cwd=ROOT, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{side} worker failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def _line(label: str, s: dict, unit: str) -> str:
    return (f"{label}: reference median {s['reference_median']:.1f} {unit} (min-max {s['reference_range'][0]:.1f}-"
            f"{s['reference_range'][1]:.1f}); gan_core median {s['gan_core_median']:.1f} {unit} (min-max "
            f"{s['gan_core_range'][0]:.1f}-{s['gan_core_range'][1]:.1f}); median ratio {s['ratio_median']:.2f}x "
            f"(min-max {s['ratio_range'][0]:.2f}-{s['ratio_range'][1]:.2f})")


def compare(case: Case, *, pairs: int, threads: int) -> dict:
    """Alternate reference and gan_core runs `pairs` times; print each figure as it lands."""
    runs: dict[str, list[dict]] = {"reference": [], "gan_core": []}
    print(f"== {case.name}: {case.image_size}x{case.image_size}x{case.channels}, z={case.z_dim}, widths "
          f"{case.width}, batch {case.batch_size}, {case.steps} steps ({case.warmup} warm-up), {case.device}, "
          f"{threads} threads", flush=True)
    for k in range(pairs):
        a = _spawn("reference", case, threads)
        b = _spawn("gan_core", case, threads)
        runs["reference"].append(a)
        runs["gan_core"].append(b)
        print(f"pair {k + 1}: reference {a['images_per_s']:7.1f} img/s {a['images_per_cpu_s']:6.1f} img/cpu-s | "
              f"gan_core {b['images_per_s']:7.1f} img/s {b['images_per_cpu_s']:6.1f} img/cpu-s | ratio "
              f"{b['images_per_s'] / a['images_per_s']:.2f} (cpu {b['images_per_cpu_s'] / a['images_per_cpu_s']:.2f})"
              f" | loss_d {a['metrics']['loss_d']:.3f} / {b['metrics']['loss_d']:.3f}", flush=True)
    wall = summarize([r["images_per_s"] for r in runs["reference"]], [r["images_per_s"] for r in runs["gan_core"]])
    cpu = summarize([r["images_per_cpu_s"] for r in runs["reference"]],
                    [r["images_per_cpu_s"] for r in runs["gan_core"]])
    print(_line("wall", wall, "img/s"), flush=True)
    print(_line("cpu ", cpu, "img/cpu-s"), flush=True)
    return {"case": asdict(case), "threads": threads, "runs": runs, "wall": wall, "cpu": cpu}


def markdown(results: list[dict]) -> str:
    """BENCHMARKS.md table rows for `results` (as written by --json): one row per case and figure."""
    rows = ["| case | threads | figure | reference median (min-max) | gan_core median (min-max) | ratio median "
            "(min-max) | pairs |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        for key, unit in (("wall", "img/s"), ("cpu", "img/CPU-s")):
            s = r[key]
            rows.append(f"| {r['case']['name']} | {r['threads']} | {unit} | {s['reference_median']:.1f} "
                        f"({s['reference_range'][0]:.1f}-{s['reference_range'][1]:.1f}) | {s['gan_core_median']:.1f} "
                        f"({s['gan_core_range'][0]:.1f}-{s['gan_core_range'][1]:.1f}) | **{s['ratio_median']:.2f}x** "
                        f"({s['ratio_range'][0]:.2f}-{s['ratio_range'][1]:.2f}) | {len(s['ratios'])} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.split("\n\n")[0])
    p.add_argument("--case", action="append", choices=sorted(CASES), help="repeatable; default: all")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--steps", type=int, help="override the case's step count")
    p.add_argument("--threads", type=int, help="intra-op threads for both sides (default: torch's default)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--markdown", metavar="JSON", help="print BENCHMARKS.md rows from an earlier --json file")
    p.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--case-json", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    import torch

    if args.worker:
        torch.set_num_threads(args.threads)
        print(json.dumps(run_side(args.worker, Case(**json.loads(args.case_json)))), flush=True)
        return 0
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())["results"]))
        return 0
    threads = args.threads or torch.get_num_threads()
    results = []
    for name in args.case or list(CASES):
        case = CASES[name] if not args.steps else replace(CASES[name], steps=args.steps)
        if case.device == "cuda" and not torch.cuda.is_available():
            print(f"== {name}: skipped (no CUDA GPU on this machine)")
            continue
        results.append(compare(case, pairs=args.pairs, threads=threads))
    if args.json:
        meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "torch": torch.__version__,
                "python": sys.version.split()[0], "threads": threads}
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
