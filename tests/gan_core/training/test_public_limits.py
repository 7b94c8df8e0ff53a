"""Public mode in the engine (gan_core.limits + JobManager(limits=...)): run budgets stop a run and keep its
checkpoint, size limits, one run per owner, the queue cap, abandoned runs, and the storage quota's eviction."""
import dataclasses
import os
import time

import pytest

from gan_core.config import ModelConfig, TrainConfig
from gan_core.data.datasets import ImageSet
from gan_core.limits import LimitError, PublicLimits, QueueFull, check_upload, describe, public_limits
from gan_core.training import storage
from gan_core.training.job_manager import JobManager
from gan_core.training.job_status import FINISHED, PAUSED, QUEUED, STOPPED
from gan_core.training.jobs import TrainingJob
from tests.waiting import wait_for


@pytest.fixture
def make_job(tiny_model, tiny_images):
    def make(steps=5, owner="me", model=None, **kw):
        cfg = TrainConfig(max_steps=steps, batch_size=8, device="cpu", sample_every=2, metrics_every=1)
        return TrainingJob(model or tiny_model, cfg, owner=owner, images=ImageSet(tiny_images, "digits"), **kw)
    return make


def public(tmp_path, **kw) -> JobManager:
    return JobManager(limits=dataclasses.replace(PublicLimits(), **kw), runs_dir=tmp_path / "runs")


def test_switch_reads_the_environment(monkeypatch):
    monkeypatch.delenv("DCGAN_STUDIO_PUBLIC", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert public_limits() is None
    monkeypatch.setenv("DCGAN_STUDIO_PUBLIC", "1")
    assert public_limits() == PublicLimits()
    monkeypatch.delenv("DCGAN_STUDIO_PUBLIC")
    monkeypatch.setenv("SPACE_ID", "someone/dcgan-studio")              # inside a Hugging Face Space: on
    assert public_limits() == PublicLimits()
    monkeypatch.setenv("DCGAN_STUDIO_PUBLIC", "0")                      # unless switched off explicitly
    assert public_limits() is None
    assert all(text.endswith(".") for text in describe(PublicLimits()).values())


def test_step_budget_stops_the_run_and_keeps_its_checkpoint(make_job, tmp_path):
    manager = public(tmp_path, max_steps=3)
    job = manager.submit(make_job(steps=1000))
    job.join(120)
    s = job.snapshot()
    assert s.status == STOPPED and s.step == 3 and s.error is None
    assert "3 steps" in s.note and "checkpoint is kept" in s.note
    assert (tmp_path / "runs" / job.id / "model.safetensors").is_file()


def test_time_budget_stops_the_run(make_job, tmp_path):
    job = make_job(steps=100_000, budget_s=0.5, autosave_dir=tmp_path / "auto")
    JobManager().submit(job)
    job.join(120)
    s = job.snapshot()
    assert s.status == STOPPED and 0 < s.step < 100_000 and "min of training" in s.note
    assert (tmp_path / "auto" / "model.safetensors").is_file()


def test_private_mode_has_no_budget(make_job):
    job = JobManager().submit(make_job(steps=4))
    job.join(120)
    assert job.snapshot().status == FINISHED and job.snapshot().note is None and job.budget_steps is None


def test_512px_at_width_1024_is_refused_naming_the_limit(make_job, tmp_path):
    with pytest.raises(Exception, match="image_size must be one of"):   # 512 px: no model has it at all
        ModelConfig(image_size=512, g_width=1024, d_width=1024).validate()
    manager = public(tmp_path)
    big = ModelConfig(image_size=128, channels=1, z_dim=8, g_width=1024, d_width=1024)
    with pytest.raises(LimitError, match="128 px is over the public limit of 64 px"):
        manager.submit(make_job(model=big))
    wide = dataclasses.replace(big, image_size=64)
    with pytest.raises(LimitError, match="G width 1024 is over the public limit of 64"):
        manager.submit(make_job(model=wide))
    assert manager.jobs_of("me") == []


def test_one_run_per_session_and_a_queue_cap(make_job, tmp_path):
    manager = public(tmp_path, queue_cap=2)
    first = make_job(steps=100_000, owner="a")
    first.pause()
    manager.submit(first)
    wait_for(lambda: first.snapshot().status == PAUSED)
    with pytest.raises(LimitError, match="one run per session"):   # a flood from one session
        manager.submit(make_job(owner="a"))
    waiting = [manager.submit(make_job(owner=o)) for o in ("b", "c")]
    assert [j.status for j in waiting] == [QUEUED, QUEUED]
    flood = make_job(owner="d")
    with pytest.raises(QueueFull, match="queue is full .*try again in a few minutes"):
        manager.submit(flood)
    assert manager.get(flood.id) is None and manager.jobs_of("d") == []
    for j in (first, *waiting):
        manager.stop(j)
    first.join(60)


def test_abandoned_runs_are_stopped_and_their_files_reclaimed(make_job, tmp_path):
    manager = public(tmp_path, abandon_after_s=60)
    job = make_job(steps=100_000, owner="a")
    manager.submit(job)
    wait_for(lambda: job.snapshot().step > 0)
    assert manager.reap() == []                                  # looked at just now
    assert manager.reap(now=time.monotonic() + 61) == [job.id]
    assert job.snapshot().status == STOPPED and manager.get(job.id) is None
    assert not (tmp_path / "runs" / job.id).exists()


def _folder(root, name, size, age):
    d = root / name
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(bytes(size))
    os.utime(d / "model.safetensors", (age, age))
    os.utime(d, (age, age))
    return d


def test_quota_evicts_oldest_first_but_never_a_kept_folder(tmp_path):
    root = tmp_path / "runs"
    old, kept, mid, new = (_folder(root, n, 1000, 1_000_000 + i) for i, n in enumerate(("old", "k", "mid", "new")))
    removed = storage.evict_oldest((root,), quota_bytes=2500, keep={kept})
    assert removed == [old, mid]
    assert kept.exists() and new.exists()
    assert storage.evict_oldest((root,), quota_bytes=10_000) == []


def test_upload_caps_name_the_limit():
    lim = PublicLimits()
    with pytest.raises(LimitError, match="10,000 files uploaded; the public limit is 5,000 images"):
        check_upload(lim, sizes=[100] * 10_000)
    with pytest.raises(LimitError, match="100 MB; the public limit is 50 MB"):
        check_upload(lim, sizes=[100 << 20])
    check_upload(lim, sizes=[1 << 20] * 3)
