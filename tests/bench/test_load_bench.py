"""bench/load_bench.py's pure parts: the p95 and the markdown table the lead pastes into BENCHMARKS.md (the
benchmark itself needs a server and Chromium and is never run by the tests)."""
from __future__ import annotations

import math
import os
import time

from bench.load_bench import busy_s, cpu_s, p95, rss_mb, table


def test_p95_of_twenty_values_is_near_the_top():
    xs = [float(i) for i in range(1, 21)]
    assert 19 <= p95(xs) <= 20 and p95([0.4]) == 0.4 and math.isnan(p95([]))


def test_table_has_one_row_per_level_and_flags_a_stalled_run():
    row = {"n": 8, "changes": 120, "errors": 0, "error_kinds": [], "median": 0.8, "p95": 1.1, "rss": 900.0,
           "rss_per": 12.0, "train_ips": 950.0, "training": False, "cores": (0.5, 0.25, 1.125)}
    text = table([row], seconds=30, threads=2)
    assert "| 8 | 120 | 0.80 | 1.10 | 0 | 900 | 12 | 950 | NO | 0.50 / 0.25 / 1.12 |" in text
    assert text.count("\n| ") == 2      # header + one row


def test_rss_of_this_process_is_positive():
    assert rss_mb(os.getpid()) > 1


def test_cpu_seconds_grow_while_this_process_computes():
    mine, machine = cpu_s(os.getpid()), busy_s()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert cpu_s(os.getpid()) - mine >= 0.2 and busy_s() - machine >= 0.2
    assert cpu_s(2**22 + 12345) == 0.0          # no such process: counted as nothing, not an error
