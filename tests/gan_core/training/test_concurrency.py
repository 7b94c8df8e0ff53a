"""Several sessions at once, at the JobManager level: three runs submitted together on one device -> one trains, two
queue with positions 1 and 2; stopping hands the device on in order; a stopped queued run never starts; no owner
can see or control another's run; snapshots read while training are consistent; a reload reattaches by id."""
from __future__ import annotations

import threading
import time

import pytest

from gan_core.config import TrainConfig
from gan_core.data.datasets import ImageSet
from gan_core.training.job_manager import JobManager
from gan_core.training.job_status import ACTIVE, QUEUED, RUNNING, STOPPED
from gan_core.training.jobs import TrainingJob
from tests.waiting import wait_for



@pytest.fixture
def sessions(tiny_model, tiny_images):
    """Three sessions' jobs (owners s0, s1, s2), each long enough to occupy the CPU until stopped."""
    data = ImageSet(tiny_images, "digits")
    cfg = TrainConfig(max_steps=100_000, batch_size=8, device="cpu", sample_every=5, metrics_every=1)
    jobs = [TrainingJob(tiny_model, cfg, owner=f"s{i}", images=data) for i in range(3)]
    yield jobs
    for j in jobs:                                    # never leave a training thread behind
        j.stop()
    for j in jobs:
        j.join(30)


def submit_together(mgr: JobManager, jobs: list[TrainingJob]) -> None:
    barrier = threading.Barrier(len(jobs))

    def go(job):
        barrier.wait()
        mgr.submit(job)

    threads = [threading.Thread(target=go, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


def test_three_sessions_one_trains_two_queue_and_stop_hands_on(sessions):
    mgr = JobManager()
    submit_together(mgr, sessions)
    wait_for(lambda: mgr.running("cpu") is not None and mgr.running("cpu").snapshot().status == RUNNING)
    first = mgr.running("cpu")
    waiting = sorted((j for j in sessions if j is not first), key=lambda j: j.snapshot().queue_position)
    assert [(j.snapshot().status, j.snapshot().queue_position) for j in waiting] == [(QUEUED, 1), (QUEUED, 2)]
    assert first.snapshot().queue_position == 0
    assert sum(j.snapshot().status in ACTIVE for j in sessions) == 1   # one run per device

    mgr.stop(first)                                   # the device goes to position 1
    wait_for(lambda: waiting[0].snapshot().status == RUNNING)
    assert first.snapshot().status == STOPPED and mgr.running("cpu") is waiting[0]
    assert (waiting[1].snapshot().status, waiting[1].snapshot().queue_position) == (QUEUED, 1)

    mgr.stop(waiting[1])                              # a queued run stopped: it never starts
    assert waiting[1].snapshot().status == STOPPED and waiting[1]._thread is None
    mgr.stop(waiting[0])
    waiting[0].join(30)
    wait_for(lambda: mgr.running("cpu") is None)
    time.sleep(0.3)
    assert waiting[1]._thread is None and waiting[1].snapshot().step == 0


def test_no_session_sees_or_controls_another_run_and_reload_reattaches(sessions):
    mgr = JobManager()
    submit_together(mgr, sessions)
    a, b, _ = sessions
    for me in sessions:
        assert mgr.jobs_of(me.owner) == [me]
        assert mgr.get(me.id, owner=me.owner) is me                      # a reload finds its run by id
        for other in sessions:
            if other is not me:
                assert mgr.get(other.id, owner=me.owner) is None         # someone else's id gives nothing
    assert mgr.get(None, owner="s0") is None and mgr.get("", owner="s0") is None
    assert mgr.get(a.id, owner="") is None and mgr.jobs_of("nobody") == []
    assert len(a.id) == 32 and a.id != b.id                              # unguessable tokens, not counters


def test_snapshots_read_while_training_are_consistent(sessions):
    mgr = JobManager()
    job = sessions[0]
    mgr.submit(job)
    errors, polls = [], []

    def reader():                                     # a browser polling at full speed
        since, last_step, n = 0, 0, 0
        try:
            while not job.snapshot().ended:
                s = job.snapshot(since=since)
                rows = s.history
                assert all(r["step"] == since + i + 1 for i, r in enumerate(rows)), "history rows out of order"
                since += len(rows)
                assert s.history_len >= since and s.step >= last_step, "snapshot went backwards"
                last_step, n = s.step, n + 1
            polls.append(n)
        except Exception as exc:                      # surfaced in the main thread below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    wait_for(lambda: job.snapshot().step >= 8)
    mgr.stop(job)
    job.join(30)
    for t in readers:
        t.join(30)
    assert not errors, errors
    assert len(polls) == 3 and min(polls) > 8
    assert job.snapshot().status == STOPPED
