"""Streamlit glue shared by the pages: session keys (state.py), widgets that return plain values, Plotly figures."""
import os

# Every page imports ui before torch, so this is read when OpenMP starts in the server process, whose own torch
# work (Explore's samples, Evaluate) is short bursts between page reruns: spin-waiting after each burst would burn
# the core a rerun needs (it cost the training thread half its speed when training still ran in the server).
# Training now runs in its own process, which must not wait passively: at 2 threads that made it 1.5x slower
# than the CLI (BENCHMARKS.md, "In-app training speed"). So the forkserver that training processes come from
# starts with TRAINING_ENV (ui/warmup.py): the environment's own wait policy (unset: OpenMP's default) and a spin
# bounded to 10,000 rounds, about as fast as unbounded spinning on free cores and wasting little on busy ones.
TRAINING_ENV = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
                "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT", "10000")}
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
