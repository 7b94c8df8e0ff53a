"""What one redraw of a live chart costs the browser: Plotly.newPlot (what Streamlit does for a changed figure)
against Plotly.react and Plotly.extendTraces (what a chart updated in place would do). Issue 15, item 5.

The Train page's probability and loss figures (`ui/figures.py`) for a 1,240-step history, in a standalone page
with the plotly.js bundled in the `plotly` package, in Debian's Chromium; each redraw is timed from the call to the
next animation frame. newPlot and react get the whole figure anew (new arrays, as from the server); extendTraces
appends 30 points per trace (a second of training). Median ms per chart redraw, alternated per round.

    python -m bench.plotly_redraw --rounds 10 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from pathlib import Path

from bench.app_bench import CHROMIUM_ARGS

PAGE = """<html><head><script>%(plotly)s</script></head><body>
<div id="prob" style="width:800px;height:360px"></div><div id="loss" style="width:800px;height:330px"></div>
<script>
const specs = %(specs)s;
async function redraw(el, spec, mode) {
  if (mode === "newPlot") { Plotly.purge(el); return Plotly.newPlot(el, spec.data, spec.layout, {displaylogo: false}); }
  if (mode === "react") return Plotly.react(el, spec.data, spec.layout, {displaylogo: false});
  const xs = [], ys = [], idx = [];
  el.data.forEach((trace, i) => {
    const last = trace.x[trace.x.length - 1];
    xs.push(Array.from({length: 30}, (_, k) => last + k + 1));
    ys.push(Array.from({length: 30}, () => Math.random()));
    idx.push(i);
  });
  return Plotly.extendTraces(el, {x: xs, y: ys}, idx);
}
window.bench = async function(mode, rounds) {
  const times = [];
  for (let r = 0; r < rounds; r++) {
    for (const id of ["prob", "loss"]) {
      const el = document.getElementById(id), spec = JSON.parse(JSON.stringify(specs[id]));
      if (!el.data) await Plotly.newPlot(el, spec.data, spec.layout, {displaylogo: false});
      const t0 = performance.now();
      await redraw(el, spec, mode);
      await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
      times.push(performance.now() - t0);
    }
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
};
</script></body></html>"""


def _history(steps: int = 1240, per_epoch: int = 62) -> list[dict]:
    rng = random.Random(0)
    return [dict(step=s, epoch=(s - 1) // per_epoch, d_real=0.6 + 0.2 * rng.random(),
                 d_fake_before=0.3 + 0.2 * rng.random(), d_fake_after=0.2 + 0.2 * rng.random(),
                 loss_d=1 + 0.3 * rng.random(), loss_g=1 + 0.5 * rng.random()) for s in range(1, steps + 1)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    from plotly.offline import get_plotlyjs
    from playwright.sync_api import sync_playwright

    from ui.figures import loss_figure, probability_figure

    rows = _history()
    specs = {"prob": json.loads(probability_figure(rows).to_json()), "loss": json.loads(loss_figure(rows).to_json())}
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "redraw.html"
        page_file.write_text(PAGE % {"plotly": get_plotlyjs(), "specs": json.dumps(specs)})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(page_file.as_uri())
            page.evaluate("bench('newPlot', 3)")                  # warm-up
            for _ in range(args.repeats):
                ms = {m: page.evaluate(f"bench('{m}', {args.rounds})") for m in ("newPlot", "react", "extend")}
                print(f"median ms per chart redraw: newPlot {ms['newPlot']:.1f}, react {ms['react']:.1f}, "
                      f"extendTraces {ms['extend']:.1f} (newPlot / react {ms['newPlot'] / ms['react']:.2f})",
                      flush=True)
            browser.close()


if __name__ == "__main__":
    main()
