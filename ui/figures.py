"""Pure Plotly builders for the Train page: history rows (dicts from `gan_core.runloop.Run.history`) -> `go.Figure`.

No streamlit import here, so the figures can be tested and benchmarked alone. Long histories are thinned to at
most `MAX_POINTS` points per trace (every k-th row, always keeping the newest) so a redraw stays cheap.
"""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

MAX_POINTS = 1500
COLOURS = {"real": "#1f77b4", "before": "#d62728", "after": "#ff7f0e", "loss_d": "#1f77b4", "loss_g": "#2ca02c"}


def thin(rows: Sequence, max_points: int = MAX_POINTS) -> list:
    """Every k-th item so that at most about `max_points` remain; the last item is always kept."""
    n = len(rows)
    if n <= max_points:
        return list(rows)
    k = -(-n // max_points)  # ceil(n / max_points)
    out = list(rows[::k])
    if (n - 1) % k:
        out.append(rows[-1])
    return out


def _epoch_marks(fig: go.Figure, rows: Sequence[dict]) -> None:
    """A faint vertical line where each epoch ends (the step at which `epoch` increases)."""
    marks = [b["step"] for a, b in zip(rows, rows[1:]) if b["epoch"] > a["epoch"]]
    if len(marks) > 40:  # too many to read: keep about 40
        marks = marks[:: -(-len(marks) // 40)]
    for step in marks:
        fig.add_vline(x=step, line_width=1, line_dash="dot", line_color="rgba(120,120,120,0.45)")


def _layout(fig: go.Figure, *, title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, font=dict(size=15)), height=height, margin=dict(l=10, r=10, t=36, b=10),
        hovermode="x unified", legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
        xaxis_title="step (dotted lines: epoch ends)", yaxis_title=y_title, uirevision="keep-zoom")
    return fig


def probability_figure(rows: Sequence[dict], *, height: int = 360) -> go.Figure:
    """D(x) and D(G(z)) (before and after the D update) with the 0.5 equilibrium band.

    D(x) = mean sigmoid(D(real)); D(G(z)) before = on the fakes D was trained on in this step; after = on the
    same fakes scored by the updated D during the G step (the tutorial's D_G_z1 and D_G_z2).
    """
    rows = thin(rows)
    steps = [r["step"] for r in rows]
    fig = go.Figure()
    # At the Nash equilibrium D cannot tell real from fake: both probabilities sit near 0.5.
    fig.add_hrect(y0=0.4, y1=0.6, fillcolor="rgba(44,160,44,0.12)", line_width=0, layer="below")
    fig.add_hline(y=0.5, line_width=1, line_dash="dash", line_color="rgba(44,160,44,0.8)",
                  annotation_text="0.5 equilibrium", annotation_position="bottom left")
    fig.add_trace(go.Scatter(
        x=steps, y=[r["d_real"] for r in rows], name="D(x)", mode="lines",
        line=dict(color=COLOURS["real"], width=2),
        hovertemplate="%{y:.4f}"))
    fig.add_trace(go.Scatter(
        x=steps, y=[r["d_fake_before"] for r in rows], name="D(G(z))", mode="lines",
        line=dict(color=COLOURS["before"], width=2), hovertemplate="%{y:.4f}"))
    fig.add_trace(go.Scatter(
        x=steps, y=[r["d_fake_after"] for r in rows], name="D(G(z)) after D update", mode="lines",
        line=dict(color=COLOURS["after"], width=1.5, dash="dot"), hovertemplate="%{y:.4f}"))
    _epoch_marks(fig, rows)
    fig.update_yaxes(range=[-0.02, 1.02])
    return _layout(fig, title="Discriminator: probability that an image is real", y_title="mean probability",
                   height=height)


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average, debiased like TensorBoard's: s_t = w s_{t-1} + (1 - w) v_t, / (1 - w^t)."""
    if weight <= 0:
        return list(values)
    out, s = [], 0.0
    for t, v in enumerate(values, start=1):
        s = weight * s + (1 - weight) * v
        out.append(s / (1 - weight ** t))
    return out


def loss_figure(rows: Sequence[dict], *, smoothing: float = 0.6, height: int = 330) -> go.Figure:
    """loss_D and loss_G per step, smoothed over the full history first, then thinned for drawing."""
    all_steps = [r["step"] for r in rows]
    series = {k: smooth([r[k] for r in rows], smoothing) for k in ("loss_d", "loss_g")}
    keep_i = thin(range(len(rows)))  # indices of the rows to draw
    fig = go.Figure()
    names = {"loss_d": "loss_D = BCE(D(x), 1) + BCE(D(G(z)), 0)", "loss_g": "loss_G = BCE(D(G(z)), 1)"}
    for key, values in series.items():
        fig.add_trace(go.Scatter(x=[all_steps[i] for i in keep_i], y=[values[i] for i in keep_i], name=names[key],
                                 mode="lines", line=dict(color=COLOURS[key], width=2), hovertemplate="%{y:.4f}"))
    _epoch_marks(fig, thin(rows))
    return _layout(fig, title="Losses" + (f" (smoothed, weight {smoothing:g})" if smoothing > 0 else ""),
                   y_title="loss", height=height)
