"""Background jobs: start, pause, step once, resume, stop; snapshots; the per-device FIFO queue."""
import json
import time

import pytest

from gan_core.config import TrainConfig
from gan_core.data.datasets import ImageSet
from gan_core.training.job_manager import JobManager
from gan_core.training.job_status import FAILED, FINISHED, PAUSED, QUEUED, RUNNING, STOPPED
from gan_core.training.jobs import TrainingJob
from tests import child_faults
from tests.waiting import wait_for



@pytest.fixture
def make_job(tiny_model, tiny_images):
    def make(steps=5, owner="me", **kw):
        cfg = TrainConfig(max_steps=steps, batch_size=8, device="cpu", sample_every=2, metrics_every=1)
        return TrainingJob(tiny_model, cfg, owner=owner, images=ImageSet(tiny_images, "digits"), **kw)
    return make


def test_runs_to_finished_with_history_and_grid(make_job, tmp_path):
    job = make_job(steps=5, autosave_dir=tmp_path / "auto")
    JobManager().submit(job)
    job.join(120)
    s = job.snapshot()
    assert s.status == FINISHED and s.step == 5 and s.history_len == 5 and s.error is None
    assert s.latest_grid.startswith(b"\x89PNG") and s.grid_steps[-1] == 5
    assert (tmp_path / "auto" / "model.safetensors").is_file() and s.saved_to
    assert job.snapshot(since=3).history[0]["step"] == 4
    assert [r["step"] for r in job.history()] == [1, 2, 3, 4, 5]
    summary = job.summary()
    assert summary.history == [] and summary.history_len == 5 and summary.step == 5
    assert summary.status == "finished" and f"{summary.status}" == "finished" and json.dumps(summary.status) == '"finished"'
    assert job.label() == f"run {job.id[:6]} · dcgan on digits · step 5/5 · finished"


def test_pause_step_once_resume_stop(make_job):
    job = make_job(steps=10_000)
    job.pause()                                   # paused before the first step
    JobManager().submit(job)
    wait_for(lambda: job.snapshot().status == PAUSED)
    time.sleep(0.3)
    assert job.snapshot().step == 0
    job.step_once()
    wait_for(lambda: job.snapshot().step == 1)
    time.sleep(0.3)
    assert job.snapshot().step == 1 and job.snapshot().status == PAUSED
    job.resume()
    wait_for(lambda: job.snapshot().step > 3)
    assert job.snapshot().status == RUNNING
    job.stop()
    job.join(60)
    assert job.snapshot().status == STOPPED


def test_one_job_per_device_others_queue_in_order(make_job):
    mgr = JobManager()
    a, b, c = make_job(steps=10_000, owner="a"), make_job(steps=3, owner="b"), make_job(steps=3, owner="c")
    for j in (a, b, c):
        mgr.submit(j)
    wait_for(lambda: a.snapshot().status == RUNNING)
    assert (b.snapshot().status, b.snapshot().queue_position) == (QUEUED, 1)
    assert (c.snapshot().status, c.snapshot().queue_position) == (QUEUED, 2)
    assert mgr.get(a.id, owner="b") is None and mgr.get(a.id, owner="a") is a
    mgr.stop(a)
    b.join(120) if wait_for(lambda: b._thread is not None) else None
    assert b.snapshot().status == FINISHED
    c.join(120) if wait_for(lambda: c._thread is not None) else None
    assert c.snapshot().status == FINISHED and a.snapshot().status == STOPPED


def test_bad_data_fails_with_message_not_crash(tiny_model):
    job = TrainingJob(tiny_model, TrainConfig(dataset="/no/such/dir", max_steps=2, device="cpu"))
    JobManager().submit(job)
    job.join(60)
    s = job.snapshot()
    assert s.status == FAILED and "unknown dataset" in s.error and "Traceback" not in s.error


def test_save_while_running(make_job, tmp_path):
    job = make_job(steps=10_000)
    JobManager().submit(job)
    wait_for(lambda: job.snapshot().step >= 2)
    path = job.save(tmp_path / "mid")
    assert (path / "config.json").is_file() and (path / "training" / "state.safetensors").is_file()
    job.stop()
    job.join(60)


def test_shown_speed_is_images_over_time_when_some_steps_are_slow(make_job):
    """One step in five waits 0.15 s (as when the page's rerun holds a core). The shown images/s must stay near
    images / training time; an average of per-step rates showed several times the real speed."""
    job = make_job(steps=40, child_init=child_faults.every_fifth_step_waits)   # patched in the training process
    JobManager().submit(job)
    job.join(120)
    s = job.snapshot()
    assert s.status == FINISHED
    true_rate = s.step * 8 / s.elapsed_s
    assert 0.5 < s.images_per_s / true_rate < 2.0, (s.images_per_s, true_rate)
