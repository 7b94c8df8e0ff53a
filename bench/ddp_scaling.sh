#!/bin/bash
# 1 vs 2 processes on the CPU (BENCHMARKS.md, "Scaling with torchrun"): digits 28x28x1, dcgan preset (widths 32,
# z 100), batch 64 per process, 80 steps, grids off. One line per round; run from the repository root with the
# venv active. Output folders go to a temporary directory that is removed at the end.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common="--dataset digits --device cpu --max-steps 80 --sample-every 1000 --quiet"
for round in 1 2 3; do
  one=$(python -m gan_core train $common --threads 1 --out "$out/p1" | grep images_per_s)
  two=$(OMP_NUM_THREADS=1 torchrun --standalone --nproc-per-node 2 -m gan_core train $common --threads 1 \
        --out "$out/p2" 2>/dev/null | grep images_per_s)
  threads=$(python -m gan_core train $common --threads 2 --out "$out/t2" | grep images_per_s)
  echo "round=$round load=$(cut -d' ' -f1 /proc/loadavg) 1proc_1thread $one | 2procs_1thread_each $two |" \
       "1proc_2threads $threads"
done
