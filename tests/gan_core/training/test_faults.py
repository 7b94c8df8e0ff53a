"""Training faults: divergence to NaN (job and CLI) stops naming the step and keeps a last good, resumable
checkpoint; a CUDA out-of-memory error fails only its job, ends its training process and hands the device to the
next queued job; a kill during a checkpoint save (a real SIGKILL to a subprocess) leaves the old or the new checkpoint,
never a mix."""
from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gan_core.checkpoints import store as ckpt_mod
from gan_core.checkpoints.store import load_generator, save_checkpoint
from gan_core.cli import main as cli_main
from gan_core.config import TrainConfig
from gan_core.data.datasets import ImageSet
from gan_core.training.job_manager import JobManager
from gan_core.training.job_status import FAILED, FINISHED, PAUSED
from gan_core.training.jobs import TrainingJob
from gan_core.models import Generator
from gan_core.training.trainer import Trainer
from tests import child_faults
from tests.paths import REPO_ROOT
from tests.waiting import wait_for

ROOT = REPO_ROOT



def train_cfg(steps: int, seed: int = 0) -> TrainConfig:
    return TrainConfig(max_steps=steps, batch_size=8, device="cpu", sample_every=2, metrics_every=1, seed=seed)


def poison(model: torch.nn.Module) -> None:
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))


def test_job_divergence_fails_naming_the_step_and_keeps_a_resumable_checkpoint(tiny_model, tiny_images, tmp_path):
    auto = tmp_path / "auto"
    job = TrainingJob(tiny_model, train_cfg(1000), images=ImageSet(tiny_images, "digits"), autosave_dir=auto,
                      child_init=child_faults.poison_d_before_step_2)   # in the training process
    job.pause()
    JobManager().submit(job)
    wait_for(lambda: job.snapshot().status == PAUSED and job.has_weights)
    job.step_once()
    wait_for(lambda: job.snapshot().step == 1)
    good = load_generator(job.save(tmp_path / "step1", with_training_state=False)).generator.state_dict()
    job.step_once()                                         # D turns NaN before step 2: every loss is NaN
    job.join(60)
    s = job.snapshot()
    assert s.status == FAILED and "diverged at step 2" in s.error and "step 1 were kept" in s.error
    assert s.diverged                                        # by type (TrainingDiverged), not by the message
    assert f"Saved to {auto}" in s.error and s.saved_to == str(auto) and "Traceback" not in s.error
    loaded = load_generator(auto)
    assert loaded.info["steps"] == 1
    for k, v in loaded.generator.state_dict().items():
        assert torch.equal(v, good[k]), k
    # the kept checkpoint is really good: resuming from it trains on without diverging again
    again = TrainingJob(tiny_model, train_cfg(4), images=ImageSet(tiny_images, "digits"), resume_from=str(auto))
    JobManager().submit(again)
    again.join(60)
    s2 = again.snapshot()
    assert (s2.status, s2.error, s2.step) == (FINISHED, None, 4)
    assert all(math.isfinite(r["loss_d"]) for r in s2.history)


def test_cli_divergence_exits_1_with_a_loadable_checkpoint(monkeypatch, capsys, tmp_path):
    real_step = Trainer.step

    def step_then_poison(self):                             # D turns NaN right after step 1
        m = real_step(self)
        if self.step_count == 1:
            poison(self.D)
        return m

    monkeypatch.setattr(Trainer, "step", step_then_poison)
    out = tmp_path / "run"
    code = cli_main(["train", "--dataset", "digits", "--image-size", "16", "--z-dim", "8", "--g-width", "4",
                     "--d-width", "4", "--batch-size", "8", "--max-steps", "4", "--device", "cpu", "--quiet",
                     "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    # the CLI checks metrics every 10 steps (and at the end): the last good state here is the initial one
    assert "error: training diverged at step 2" in err and "step 0 were kept" in err
    assert f"Last good checkpoint: {out}" in err and "Traceback" not in err and err.count("\n") == 1
    loaded = load_generator(out)
    assert loaded.info["steps"] == 0
    assert all(torch.isfinite(v).all() for v in loaded.generator.state_dict().values() if v.is_floating_point())


OOM_SEED = 13


@pytest.fixture
def oom_on_second_step(monkeypatch):
    """Trainer.step of a real trainer (seed 13) raises CUDA OOM at its second step; others step normally."""
    real_step = Trainer.step

    def step(self):
        if self.cfg.seed == OOM_SEED and self.step_count >= 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_step(self)

    monkeypatch.setattr(Trainer, "step", step)


def test_cuda_oom_fails_the_job_ends_its_process_and_releases_the_device(tiny_model, tiny_images):
    exited_at_release = []

    class Manager(JobManager):
        def _finished(self, job):                           # the moment the device is handed on
            if job.train_cfg.seed == OOM_SEED:
                exited_at_release.append(job._proc.exitcode)   # models and optimisers went with the process
            super()._finished(job)

    mgr = Manager()
    data = ImageSet(tiny_images, "digits")
    a = TrainingJob(tiny_model, train_cfg(1000, seed=OOM_SEED), owner="a", images=data,
                    child_init=child_faults.oom_on_second_step)
    b = TrainingJob(tiny_model, train_cfg(3), owner="b", images=data)
    mgr.submit(a)
    mgr.submit(b)
    assert b.snapshot().queue_position == 1
    a.join(60)
    sa = a.snapshot()
    assert sa.status == FAILED and "ran out of memory" in sa.error and "batch size" in sa.error
    assert "Traceback" not in sa.error and not a.has_weights
    assert exited_at_release == [0]                         # it reported and exited before the next job began
    wait_for(lambda: b._thread is not None)
    b.join(60)
    assert b.snapshot().status == FINISHED and b.snapshot().step == 3
    assert mgr.running("cpu") is None


def test_cli_oom_is_one_line(monkeypatch, capsys, tmp_path, oom_on_second_step):
    code = cli_main(["train", "--dataset", "digits", "--image-size", "16", "--z-dim", "8", "--g-width", "4",
                     "--d-width", "4", "--batch-size", "8", "--max-steps", "4", "--device", "cpu", "--quiet",
                     "--seed", str(OOM_SEED), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code != 0 and "out of memory" in err and "Traceback" not in err and err.count("\n") == 1


def test_unexpected_error_is_short_on_the_page_and_detailed_in_the_log(tiny_model, tiny_images, caplog):
    job = TrainingJob(tiny_model, train_cfg(3), images=ImageSet(tiny_images, "digits"),
                      child_init=child_faults.broken_step)
    with caplog.at_level("ERROR", logger="gan_core.training.jobs"):
        JobManager().submit(job)
        job.join(60)
    s = job.snapshot()
    assert s.status == FAILED and "Traceback" not in s.error and "\n" not in s.error
    assert "internal error (ZeroDivisionError" in s.error and "server log" in s.error and not s.diverged
    assert "Traceback" in caplog.text and "broken_step" in caplog.text   # the child's traceback, in our log


# ---- kill during save ----
SAVER = """
import sys, torch
from gan_core.checkpoints.store import save_checkpoint
from gan_core.config import ModelConfig
from gan_core.models import Generator
cfg = ModelConfig(preset="dcgan", image_size=64, channels=3, z_dim=16, g_width=32, d_width=4)  # G: ~14 MB
g = Generator(cfg)
k = int(sys.argv[2])
while True:
    with torch.no_grad():
        for v in g.state_dict().values():
            v.fill_(k)                                   # every tensor of save k holds the value k
    save_checkpoint(sys.argv[1], generator=g, model_cfg=cfg, steps=k)
    print(k, flush=True)
    k += 1
"""


def check_whole(out: Path, allowed: set[int]) -> int:
    loaded = load_generator(out)
    k = loaded.info["steps"]
    assert k in allowed, (k, allowed)
    for name, v in loaded.generator.state_dict().items():
        assert torch.all(v == k), f"{name} is not from save {k}: a mix of two saves"
    return k


def test_sigkill_during_save_leaves_old_or_new_never_a_mix(tmp_path):
    out = tmp_path / "ckpt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(0)
    start, kills, deadline = 1, 0, time.monotonic() + 35      # each round starts a fresh interpreter (torch import)
    while kills < 5 and (kills < 2 or time.monotonic() < deadline):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(out), str(start)], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == str(start)   # one save completed: kill during the next ones
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate()[0].split()
        proc.wait()
        last = int(rest[-1]) if rest else start
        k = check_whole(out, {last, last + 1})              # the newest finished save, or the one in flight
        kills += 1
        start = max(k, last) + 2


def test_kill_between_the_two_renames_recovers_the_previous_checkpoint(tmp_path, tiny_model, monkeypatch):
    out = tmp_path / "ckpt"
    g = Generator(tiny_model)
    with torch.no_grad():
        for v in g.state_dict().values():
            v.fill_(1)
    save_checkpoint(out, generator=g, model_cfg=tiny_model, steps=1)
    real_replace, calls = os.replace, []

    def die_on_second_rename(src, dst):                    # out -> .ckpt.old-*, then "killed"
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(ckpt_mod.os, "replace", die_on_second_rename)
    with torch.no_grad():
        for v in g.state_dict().values():
            v.fill_(2)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(out, generator=g, model_cfg=tiny_model, steps=2)
    monkeypatch.setattr(ckpt_mod.os, "replace", real_replace)
    assert not out.exists() and list(tmp_path.glob(".ckpt.old-*"))
    assert check_whole(out, {1}) == 1                       # recovered under its own name
    assert out.is_dir() and json.loads((out / "config.json").read_text())["steps"] == 1


def test_leftovers_of_killed_saves_are_cleaned_once_stale(tmp_path, tiny_model):
    out = tmp_path / "ckpt"
    g = Generator(tiny_model)
    save_checkpoint(out, generator=g, model_cfg=tiny_model, steps=1)
    stale, fresh = tmp_path / ".ckpt.tmp-dead0001", tmp_path / ".ckpt.tmp-busy0002"
    old = tmp_path / ".ckpt.old-dead0003"
    for d in (stale, fresh, old):
        d.mkdir()
        (d / "model.safetensors").write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for d in (stale, old):
        os.utime(d, (hour_ago, hour_ago))
    save_checkpoint(out, generator=g, model_cfg=tiny_model, steps=2)
    assert not stale.exists() and not old.exists()
    assert fresh.exists()                                 # maybe another save in flight: left alone
    assert load_generator(out).info["steps"] == 2
