"""`wait_for`: poll a condition from a test thread while a background job works (no fixed sleeps)."""
import time


def wait_for(cond, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out")
