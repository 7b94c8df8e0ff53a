"""Pure Plotly builders for the Train page: history rows (dicts from `gan_core.training.run.Run.history`) -> `go.Figure`.

No streamlit import here, so the figures can be tested and benchmarked alone. Long histories are thinned to at
most `MAX_POINTS` points per trace (every k-th row, always keeping the newest) so a redraw stays cheap.
"""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

MAX_POINTS = 1500
COLOURS = {"real": "#1f77b4", "before": "#d62728", "after": "#ff7f0e", "loss_d": "#1f77b4", "loss_g": "#2ca02c",
           "aug_p": "#7f7f7f"}
# The loss curves' legend per TrainConfig.loss (gan_core/training/losses.py has the formulas).
LOSS_NAMES = {
    "bce": {"loss_d": "loss_D = BCE(D(x), 1) + BCE(D(G(z)), 0)", "loss_g": "loss_G = BCE(D(G(z)), 1)"},
    "hinge": {"loss_d": "loss_D = relu(1 - D(x)) + relu(1 + D(G(z)))", "loss_g": "loss_G = -D(G(z))"},
    "ls": {"loss_d": "loss_D = ½(D(x) - 1)² + ½D(G(z))²", "loss_g": "loss_G = ½(D(G(z)) - 1)²"},
}


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


def _epoch_marks(rows: Sequence[dict]) -> list[dict]:
    """Faint vertical lines where epochs end (the step at which `epoch` increases), as layout shapes."""
    marks = [b["step"] for a, b in zip(rows, rows[1:]) if b["epoch"] > a["epoch"]]
    if len(marks) > 40:  # too many to read: keep about 40
        marks = marks[:: -(-len(marks) // 40)]
    return [dict(type="line", xref="x", yref="paper", x0=s, x1=s, y0=0, y1=1,
                 line=dict(width=1, dash="dot", color="rgba(120,120,120,0.45)")) for s in marks]


def _figure(traces: list[dict], shapes: list[dict], *, title: str, y_title: str, height: int,
            **layout) -> go.Figure:
    """One go.Figure built from plain dicts in a single pass (add_shape per line deep-copies the layout: slow)."""
    return go.Figure(dict(data=traces, layout=dict(
        title=dict(text=title, x=0, font=dict(size=15)), height=height, margin=dict(l=10, r=10, t=36, b=10),
        hovermode="x unified", legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
        xaxis=dict(title=dict(text="step (dotted lines: epoch ends)")), yaxis=dict(title=dict(text=y_title)),
        uirevision="keep-zoom", shapes=shapes, **layout)))


def _line(x: list, y: list, name: str, colour: str, *, width: float = 2, dash: str = "solid") -> dict:
    return dict(type="scatter", x=x, y=y, name=name, mode="lines", hovertemplate="%{y:.4f}",
                line=dict(color=colour, width=width, dash=dash))


def probability_figure(rows: Sequence[dict], *, height: int = 360, aug_p: bool = False,
                       loss: str = "bce") -> go.Figure:
    """D(x) and D(G(z)) (before and after the D update) with the 0.5 equilibrium band; with `aug_p`, the adaptive
    augmentation probability p (ADA) on the same 0-1 axis.

    D(x) = mean sigmoid(D(real)); D(G(z)) before = on the fakes D was trained on in this step; after = on the
    same fakes scored by the updated D during the G step (the tutorial's D_G_z1 and D_G_z2). Under the hinge and
    ls losses D's logit is a score, not a log-odds: the curves are then sigmoid(score), and the title says so.
    """
    rows = thin(rows)
    steps = [r["step"] for r in rows]
    # At the Nash equilibrium D cannot tell real from fake: both probabilities sit near 0.5.
    band = [dict(type="rect", xref="paper", x0=0, x1=1, y0=0.4, y1=0.6, fillcolor="rgba(44,160,44,0.12)",
                 line=dict(width=0), layer="below"),
            dict(type="line", xref="paper", x0=0, x1=1, y0=0.5, y1=0.5,
                 line=dict(width=1, dash="dash", color="rgba(44,160,44,0.8)"))]
    traces = [
        _line(steps, [r["d_real"] for r in rows], "D(x)", COLOURS["real"]),
        _line(steps, [r["d_fake_before"] for r in rows], "D(G(z))", COLOURS["before"]),
        _line(steps, [r["d_fake_after"] for r in rows], "D(G(z)) after D update", COLOURS["after"], width=1.5,
              dash="dot"),
    ]
    if aug_p:
        traces.append(_line(steps, [r.get("aug_p", 0.0) for r in rows], "augmentation p (ADA)", COLOURS["aug_p"],
                            width=1.5, dash="dash"))
    title = ("Discriminator: probability that an image is real" if loss == "bce"
             else f"Discriminator: sigmoid of D's {loss} score (higher = judged real)")
    fig = _figure(traces, band + _epoch_marks(rows), title=title,
                  y_title="mean probability" if loss == "bce" else "mean sigmoid(score)", height=height,
                  annotations=[dict(xref="paper", x=1, y=0.6, yanchor="bottom", xanchor="right", showarrow=False,
                                    text="0.5 equilibrium", font=dict(size=11, color="rgba(44,160,44,1)"))])
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average, debiased like TensorBoard's: s_t = w s_{t-1} + (1 - w) v_t, / (1 - w^t)."""
    if weight <= 0:
        return list(values)
    out, s = [], 0.0
    for t, v in enumerate(values, start=1):
        s = weight * s + (1 - weight) * v
        out.append(s / (1 - weight ** t))
    return out


def loss_figure(rows: Sequence[dict], *, smoothing: float = 0.6, height: int = 330, loss: str = "bce") -> go.Figure:
    """loss_D and loss_G per step, smoothed over the full history first, then thinned for drawing."""
    keep = thin(range(len(rows)))  # indices of the rows to draw
    steps = [rows[i]["step"] for i in keep]
    names = LOSS_NAMES.get(loss, LOSS_NAMES["bce"])
    traces = []
    for key, name in names.items():
        values = smooth([r[key] for r in rows], smoothing)
        traces.append(_line(steps, [values[i] for i in keep], name, COLOURS[key]))
    title = "Losses" + (f" (smoothed, weight {smoothing:g})" if smoothing > 0 else "")
    return _figure(traces, _epoch_marks(thin(rows)), title=title, y_title="loss", height=height)
