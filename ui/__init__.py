"""Streamlit glue shared by the pages: session keys (state.py), widgets that return plain values, Plotly figures."""
import os

# Every page imports ui before torch, so this is read when OpenMP starts in the server process. In the server the
# training thread shares the cores with the page reruns (and often the browser): OpenMP's default spin-waiting
# then burns the core another thread needs, and the app trained at ~0.3x the CLI's speed on 2 cores; with
# passive waiting, ~0.6x (BENCHMARKS.md, App). The CLI keeps spinning, which is 7 % faster with the cores to itself.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
