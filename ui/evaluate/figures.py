"""Pure Plotly builders for Compare runs: several runs' histories overlaid, one colour per run (no streamlit).

Each run keeps its colour in every figure; the line style says which series: D(x) solid and D(G(z)) dashed;
loss_D solid and loss_G dashed (smoothed like the Train page's loss chart).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import plotly.graph_objects as go

from ui.figures import smooth, thin

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _layout(fig: go.Figure, *, title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=15)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10), hovermode="x unified", xaxis_title="step",
                      yaxis_title=y_title, legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return fig


def _series(fig: go.Figure, rows: Sequence[dict], key: str, *, name: str, colour: str, dash: str,
            smoothing: float = 0.0, group: str) -> None:
    rows = [r for r in rows if r.get(key) is not None]
    if not rows:
        return
    values = smooth([r[key] for r in rows], smoothing)
    keep = thin(range(len(rows)))
    fig.add_trace(go.Scatter(x=[rows[i]["step"] for i in keep], y=[values[i] for i in keep], name=name,
                             mode="lines", line=dict(color=colour, width=2, dash=dash), legendgroup=group,
                             hovertemplate="%{y:.4f}"))


def _solid_and_dashed(fig: go.Figure, runs: Mapping[str, Sequence[dict]], solid: tuple[str, str],
                      dashed: tuple[str, str], smoothing: float) -> None:
    """Per run, in the run's colour: the `solid` (key, name) series solid and the `dashed` one dashed."""
    for i, (label, rows) in enumerate(runs.items()):
        c = PALETTE[i % len(PALETTE)]
        for (key, name), dash in ((solid, "solid"), (dashed, "dash")):
            _series(fig, rows, key, name=f"{label}: {name}", colour=c, dash=dash, smoothing=smoothing, group=label)


def compare_probability_figure(runs: Mapping[str, Sequence[dict]], *, smoothing: float = 0.6,
                               height: int = 360) -> go.Figure:
    """D(x) (solid) and D(G(z)) (dashed) of each run, EMA-smoothed (per-step values are too noisy to overlay),
    with the 0.5 equilibrium line."""
    fig = go.Figure()
    fig.add_hline(y=0.5, line_width=1, line_dash="dot", line_color="rgba(44,160,44,0.8)",
                  annotation_text="0.5 equilibrium", annotation_position="bottom left")
    _solid_and_dashed(fig, runs, ("d_real", "D(x)"), ("d_fake_before", "D(G(z))"), smoothing)
    fig.update_yaxes(range=[-0.02, 1.02])
    title = "D(x) solid, D(G(z)) dashed" + (f" (smoothed, weight {smoothing:g})" if smoothing > 0 else "")
    return _layout(fig, title=title, y_title="mean probability", height=height)


def compare_loss_figure(runs: Mapping[str, Sequence[dict]], *, smoothing: float = 0.6,
                        height: int = 340) -> go.Figure:
    """loss_D (solid) and loss_G (dashed) of each run, EMA-smoothed."""
    fig = go.Figure()
    _solid_and_dashed(fig, runs, ("loss_d", "loss_D"), ("loss_g", "loss_G"), smoothing)
    return _layout(fig, title=f"Losses: loss_D solid, loss_G dashed (smoothed, weight {smoothing:g})",
                   y_title="loss", height=height)


def compare_collapse_figure(runs: Mapping[str, Sequence[dict]], *, height: int = 300,
                            title: str = "Mode collapse: diversity (solid) and digits covered (dashed)"
                            ) -> go.Figure | None:
    """Mode-collapse signals per grid: sample diversity (solid, left axis) and digits coverage (dashed, right
    axis, 0-10). None when no run recorded either."""
    fig = go.Figure()
    for i, (label, rows) in enumerate(runs.items()):
        c = PALETTE[i % len(PALETTE)]
        _series(fig, rows, "diversity", name=f"{label}: diversity", colour=c, dash="solid", group=label)
        cov = [r for r in rows if r.get("coverage") is not None]
        if cov:
            fig.add_trace(go.Scatter(x=[r["step"] for r in cov], y=[r["coverage"] for r in cov], yaxis="y2",
                                     name=f"{label}: digits covered", mode="lines+markers", legendgroup=label,
                                     line=dict(color=c, width=1.5, dash="dash"), marker=dict(size=4)))
    if not fig.data:
        return None
    fig.update_layout(yaxis2=dict(title="digits covered (of 10)", overlaying="y", side="right", range=[0, 10.5],
                                  tickmode="linear", tick0=0, dtick=2, showgrid=False))
    return _layout(fig, title=title, y_title="mean pairwise distance", height=height)
