"""Evaluate page, "Score a generator": pick a source and a dataset, compute metrics with a progress bar, show them
with what they mean, and keep a table of everything evaluated in this session."""
from __future__ import annotations

import csv
import io
import time

import plotly.graph_objects as go
import streamlit as st

from gan_core.errors import UserError
from gan_core.evaluation.evaluate import evaluate
from gan_core.evaluation.inception import inception_available
from ui import public
from ui.evaluate import state as evaluate_state
from ui.evaluate.sources import candidates, label, load_for_eval

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
OTHER = "a folder or .zip of images…"
_NOTE = dict(delta_color="off", delta_arrow="off")   # the "delta" is a reference, not a change
METRIC_LABELS = {"digits": "digits score (offline)", "fid": "FID", "kid": "KID", "is": "Inception Score"}
MEANING = """
**FID** (Fréchet Inception Distance, lower is better, 0 = same statistics): distance between Gaussian fits of
Inception-v3 pool features of generated and real images. It depends on N: compare FIDs only at the same N and
reference set. **KID** (Kernel Inception Distance, lower is better): an unbiased polynomial-kernel MMD on the same
features, steadier than FID for small N (shown ×1000 is common; here raw). **IS** (Inception Score, higher is
better): how confidently and how variously an ImageNet classifier labels the samples; for digits or faces it says
little, since ImageNet has no such classes.

**Digits score** (offline, built-in digits only): our small CNN, trained on 1,000 held-out digits the GANs never
see (98% accurate on the other 4,000), reads the samples. *Coverage*: how many of the 10 digits get at least 5% of
the samples (mode collapse lowers it). *Confident*: share of samples it classifies with ≥ 90% probability.
*Classifier score*: exp(E KL(p(y|x) ‖ p(y))), Inception-Score style, 1 to 10 (real digits ≈ 8).
*Digits FD*: Fréchet distance in the classifier's 64-d features against real digits; the *floor* is real vs real
at the same N, the best any generator can reach. **These numbers live in our classifier's feature space: they are
not comparable with Inception FID/IS or with published MNIST results.**
"""


def source_picker(prefix: str) -> str | None:
    """One generator source: a candidate (session run / bundled / typed) or a new folder path or Hub id."""
    options = candidates()
    new = "a folder path or Hub repo id…"
    keys = list(options) + [new]
    choice = st.selectbox("Generator", keys, key=f"{prefix}_source", format_func=lambda k: options.get(k, k),
                          help="Bundled checkpoints, the runs you trained in this browser session, or any "
                               "checkpoint folder / Hub repo id (user/name[@revision]).")
    if choice != new:
        return choice
    typed = st.text_input("Checkpoint folder or Hub repo id", key=f"{prefix}_typed",
                          placeholder="checkpoints/my-run or user/dcgan-digits@main").strip()
    return typed or None


def _dataset_picker() -> str | None:
    other = () if public.limits() else (OTHER,)   # public mode: no paths on the server's disk
    kind = st.selectbox("Real images (for FID / KID)", DATASETS + other, key="eval_dataset",
                        help="FID and KID compare with this many real images of the dataset, at the generator's "
                             "size and channels. The digits score always uses the built-in digits.")
    if kind != OTHER:
        return kind
    return st.text_input("Folder or .zip path", key="eval_dataset_path").strip() or None


def _progress_callback(bar):
    def update(stage: str, done: int, total: int) -> None:
        frac = min(done / total, 1.0) if total else 0.0
        amount = f"{done / 2**20:.0f} / {total / 2**20:.0f} MB" if stage.startswith("downloading") else \
            f"{done:,} / {total:,}"
        bar.progress(frac, text=f"{stage}: {amount}")
    return update


def _run(source: str, dataset: str, n: int, metrics: list[str], seed: int) -> None:
    bar = st.progress(0.0, text="loading the generator…")
    try:
        loaded = load_for_eval(source)
        result = evaluate(loaded, dataset=dataset, n=n, metrics=metrics, seed=seed,
                          progress=_progress_callback(bar))
    except (UserError, ValueError, OSError) as exc:   # bad checkpoint/data/archive, too few images, disk
        bar.empty()
        st.error(f"Could not evaluate: {exc}")
        return
    bar.empty()
    if source not in candidates():
        evaluate_state.remember_typed(source)
    name = label(source)
    evaluate_state.set_last({"label": name, "values": result.values, "unavailable": result.unavailable,
                             "details": result.details, "seconds": result.seconds})
    if result.values:
        evaluate_state.add_row({"checkpoint": name, "source": source, "dataset": dataset, "n": n, "seed": seed,
                                "steps": result.details.get("steps"), **result.values,
                                "at": time.strftime("%H:%M:%S")})


def _class_shares_figure(shares: list[float]) -> go.Figure:
    fig = go.Figure(go.Bar(x=[str(d) for d in range(10)], y=shares, marker_color="#1f77b4",
                           hovertemplate="digit %{x}: %{y:.1%}<extra></extra>"))
    fig.add_hline(y=0.1, line_dash="dot")                              # uniform share
    fig.add_hline(y=0.05, line_dash="dash", line_color="#d62728")      # coverage threshold
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), yaxis_tickformat=".0%",
                      title=dict(text="Which digits the samples look like (dotted: uniform 10%; red dashed: 5%, the "
                                 "share that counts as covered)", x=0, font=dict(size=14)),
                      xaxis_title="digit (classifier's top class)")
    return fig


def show_result(res: dict) -> None:
    v, d = res["values"], res["details"]
    st.markdown(f"**{res['label']}** · {d.get('n')} images, seed {d.get('seed')}, real images: "
                f"`{d.get('dataset')}` · {res.get('seconds', 0):.1f} s")
    for metric, reason in res["unavailable"].items():
        st.warning(f"{METRIC_LABELS.get(metric, metric)} unavailable: {reason}")
    if "fid" in v or "kid_mean" in v or "is_mean" in v:
        cols = st.columns(3)
        if "fid" in v:
            cols[0].metric("FID ↓", f"{v['fid']:.2f}", help="Fréchet Inception Distance: lower is better.")
        if "kid_mean" in v:
            cols[1].metric("KID ↓", f"{v['kid_mean']:.4f}", f"± {v['kid_std']:.4f}", **_NOTE,
                           help="Kernel Inception Distance (mean ± std over 50 subsets): lower is better.")
        if "is_mean" in v:
            cols[2].metric("Inception Score ↑", f"{v['is_mean']:.2f}", f"± {v['is_std']:.2f}", **_NOTE,
                           help="Higher is better; meaningful mostly for natural, ImageNet-like images.")
    if "digits_coverage" in v:
        cols = st.columns(4)
        cols[0].metric("Digits covered ↑", f"{v['digits_coverage']} / 10",
                       help="Digits that get at least 5% of the samples: below 10 means missing modes.")
        cols[1].metric("Confident ↑", f"{v['digits_confident']:.0%}",
                       f"real digits: {v['digits_real_confident']:.0%}", **_NOTE,
                       help="Share of samples the classifier labels with at least 90% probability.")
        cols[2].metric("Classifier score ↑", f"{v['digits_score']:.2f}",
                       f"real digits: {v['digits_real_score']:.2f}", **_NOTE,
                       help="exp(E KL(p(y|x) || p(y))): 1 (one class or unreadable) to 10.")
        cols[3].metric("Digits FD ↓", f"{v['digits_fd']:.2f}", f"floor (real vs real): {v['digits_fd_floor']:.2f}",
                       **_NOTE, help="Fréchet distance in the classifier's features; the floor is what two sets "
                                     "of real digits of the same size score.")
        st.caption("The digits score uses our own small classifier's features: it is **not comparable with "
                   "Inception FID/IS** or with published MNIST numbers, only with other digits scores here.")
        if "digits" in d:
            st.plotly_chart(_class_shares_figure(d["digits"]["class_shares"]), key="eval_shares")


def score_section() -> None:
    st.subheader("Score a generator")
    source = source_picker("eval")
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        dataset = _dataset_picker()
    n = c2.number_input("Images (N)", min_value=32, max_value=10_000, value=1000, step=100, key="eval_n",
                        help="Generated images to score (and real images for FID/KID). FID is biased by N: "
                             "compare runs at the same N.")
    seed = c3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key="eval_seed")
    default = ["digits"] if dataset == "digits" else ["fid", "kid"]
    metrics = st.multiselect("Metrics", list(METRIC_LABELS), default=default, key="eval_metrics",
                             format_func=METRIC_LABELS.get)
    wants_inception = any(m in metrics for m in ("fid", "kid", "is"))
    if wants_inception and not inception_available():
        st.caption("FID/KID/IS download the Inception-v3 weights (91 MB) on first use; offline they are skipped "
                   "with a message. On a CPU they take minutes for N = 1,000.")
    if "digits" in metrics and dataset != "digits":
        st.caption("The digits score judges samples as handwritten digits: it is meaningful only for digit "
                   "generators.")
    ready = bool(source and dataset and metrics)
    if st.button("Evaluate", type="primary", disabled=not ready, key="eval_go"):
        _run(source, dataset, int(n), metrics, int(seed))
    res = evaluate_state.last()
    if res:
        show_result(res)
    with st.expander("What these numbers mean"):
        st.markdown(MEANING)
    table = evaluate_state.rows()
    if table:
        st.markdown("**Evaluated in this session**")
        shown = [{k: v for k, v in r.items() if k != "source"} for r in table]
        st.dataframe(shown, hide_index=True, key="eval_table")
        c1, c2 = st.columns(2)
        c1.download_button("Download as CSV", _csv(shown), file_name="evaluations.csv", mime="text/csv",
                           key="eval_csv")
        c2.button("Clear the table", key="eval_clear", on_click=evaluate_state.clear_rows)


def _csv(rows: list[dict]) -> bytes:
    """Rows with possibly different metric columns -> CSV with the union of columns (first-seen order)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()
