"""Training: the `Trainer.step()`, the `Run` that drives it (cadence, grids, divergence guard), its resume state,
background jobs and the process-wide `JobManager`, and the CPU GEMM forms of some layers."""
