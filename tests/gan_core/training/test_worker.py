"""The training process behind a TrainingJob (gan_core/training/worker.py): the run trains in a child process, not in
the server's; a save after the run ended comes from the checkpoint the child left; a killed child fails its job with
one line, leaves no process behind, and the manager goes on to the next run."""
from __future__ import annotations

import os
import signal

import pytest

from gan_core.checkpoints.store import CheckpointError, load_generator
from gan_core.config import TrainConfig
from gan_core.data.datasets import ImageSet
from gan_core.training.job_manager import JobManager
from gan_core.training.job_status import FAILED, FINISHED, PAUSED, RUNNING, STOPPED
from gan_core.training.jobs import TrainingJob
from tests.waiting import wait_for


@pytest.fixture
def make_job(tiny_model, tiny_images):
    def make(steps=5, **kw):
        cfg = TrainConfig(max_steps=steps, batch_size=8, device="cpu", sample_every=2, metrics_every=1)
        return TrainingJob(tiny_model, cfg, owner=kw.pop("owner", "me"), images=ImageSet(tiny_images, "digits"),
                           **kw)
    return make


def test_a_killed_training_process_fails_its_job_and_the_next_run_trains(make_job, tmp_path):
    mgr = JobManager()
    victim, next_run = make_job(steps=100_000, owner="a"), make_job(steps=3, owner="b")
    mgr.submit(victim)
    mgr.submit(next_run)
    wait_for(lambda: victim.snapshot().step >= 2 and victim.snapshot().status == RUNNING)
    pid = victim.pid
    assert pid is not None and pid != os.getpid()                 # training runs in its own process
    os.kill(pid, signal.SIGKILL)
    victim.join(60)
    s = victim.snapshot()
    assert s.status == FAILED and "killed (SIGKILL)" in s.error and "server is still running" in s.error
    assert "\n" not in s.error and "Traceback" not in s.error
    assert victim.pid is None and victim._proc.exitcode == -signal.SIGKILL    # reaped, not a zombie
    with pytest.raises(CheckpointError, match="ended without a checkpoint"):
        victim.save(tmp_path / "gone")
    assert not victim.has_weights
    next_run.join(120)                                             # the device went on to the next run
    assert next_run.snapshot().status == FINISHED and next_run.snapshot().step == 3


def test_saves_after_the_run_ended_come_from_its_final_checkpoint(make_job, tmp_path):
    job = make_job(steps=4)
    with pytest.raises(CheckpointError, match="not made its first step"):
        job.save(tmp_path / "early")
    JobManager().submit(job)
    job.join(120)
    assert job.snapshot().status == FINISHED and job.pid is None and job.has_weights
    full = job.save(tmp_path / "full")
    light = job.save(tmp_path / "light", with_training_state=False, remember=False)
    assert (full / "training" / "state.safetensors").is_file() and not (light / "training").exists()
    assert load_generator(full).info["steps"] == load_generator(light).info["steps"] == 4
    assert job.snapshot().saved_to == str(full)                    # remember=False left it alone


def test_paused_run_saves_and_stops_from_its_process(make_job, tmp_path):
    job = make_job(steps=100_000)
    job.pause()
    JobManager().submit(job)
    wait_for(lambda: job.snapshot().status == PAUSED and job.has_weights)
    for step in (1, 2):
        job.step_once()
        wait_for(lambda: job.snapshot().step == step)
    path = job.save(tmp_path / "mid")                              # answered by the paused child
    assert load_generator(path).info["steps"] == 2 and job.snapshot().saved_to == str(path)
    assert [r["step"] for r in job.history()] == [1, 2] and job.snapshot().grid_steps == [1, 2]
    job.stop()
    job.join(60)
    assert job.snapshot().status == STOPPED and job.pid is None and job._proc.exitcode == 0


_ENV_PROBE = """
import os
import ui
from gan_core.training import worker
from gan_core.training.step_timing import call_in_training_process
names = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
worker.prestart(env=ui.TRAINING_ENV)
print(repr([os.environ.get(name) for name in names]), "|", repr([call_in_training_process(os.getenv, n) for n in names]))
"""


@pytest.mark.parametrize("users, server, training", [
    ({}, [None, None], [None, "10000"]),
    ({"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": "500"}, ["ACTIVE", "500"], ["ACTIVE", "500"])])
def test_training_processes_get_their_own_openmp_waiting_not_the_servers(users, server, training):
    # The server waits passively between its short bursts of torch work (the server's own value is then PASSIVE);
    # training processes keep the environment's policy with a bounded spin (passive waiting made them 1.5x
    # slower at 2 threads). A fresh interpreter: the forkserver reads its environment once, when it starts.
    import ast
    import subprocess
    import sys

    from tests.paths import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | users
    out = subprocess.run([sys.executable, "-c", _ENV_PROBE], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    mine, theirs = out.stdout.split("|")
    assert ast.literal_eval(theirs.strip()) == training
    assert ast.literal_eval(mine.strip()) == [server[0] or "PASSIVE", server[1]]   # the server keeps its own


def test_a_call_in_a_training_process_returns_its_result_or_its_error(tiny_model):
    from gan_core.training.step_timing import call_in_training_process, seconds_per_step

    train = TrainConfig(batch_size=8, device="cpu")
    seconds = call_in_training_process(seconds_per_step, tiny_model, train)
    assert 0 < seconds < 30
    assert call_in_training_process(os.getpid) != os.getpid()          # it ran in another process
    with pytest.raises(RuntimeError, match="ConfigError: batch_size must be in"):
        call_in_training_process(seconds_per_step, tiny_model, TrainConfig(batch_size=0, device="cpu"))
