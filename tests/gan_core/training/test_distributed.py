"""DDP under torchrun on the CPU (gloo): sharding, 2 ranks x b == 1 process x 2b, resume across world sizes,
and a rank killed mid-run. The launches are real: `python -m torch.distributed.run` and plain processes with
torchrun's environment variables, each running `python -m gan_core train` on a tiny model and 64 images."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gan_core.config import TrainConfig
from gan_core.data.datasets import BatchSource, load_images
from tests.paths import REPO_ROOT

TINY = ["--image-size", "16", "--z-dim", "8", "--g-width", "4", "--d-width", "4", "--device", "cpu",
        "--threads", "1", "--sample-every", "100"]
# Stated tolerance of the equivalence: max |difference| of every G and D tensor (weights and BatchNorm running
# stats) after 3 DDP steps. Measured: 4e-9 on weights, 1.5e-7 on running variances (float32 summation order).
ATOL = 1e-6


@pytest.fixture
def png_folder(tmp_path, tiny_images) -> Path:
    folder = tmp_path / "png"
    folder.mkdir()
    for i, im in enumerate(tiny_images):
        Image.fromarray(im[0].numpy()).save(folder / f"{i:03d}.png")
    return folder


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT), **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ranks_draw_disjoint_shards_of_the_one_process_global_batch(tiny_images):
    """Same seed: rank r's batch k is the r-th slice of the batch one process draws with the global batch size."""
    def source(rank: int, world: int, batch: int) -> BatchSource:
        return BatchSource(tiny_images[:60], batch_size=batch, device=torch.device("cpu"), rank=rank,
                           world_size=world, hflip=True, generator=torch.Generator().manual_seed(5))

    single, ranks = source(0, 1, 12), [source(r, 3, 4) for r in range(3)]
    assert single.steps_per_epoch == ranks[0].steps_per_epoch == 5       # 60 // 12, last partial dropped alike
    for _ in range(7):                                                   # across an epoch boundary
        whole, ended = single.next()
        parts = [s.next() for s in ranks]
        assert all(end == ended for _, end in parts)
        assert torch.equal(torch.cat([p for p, _ in parts]), whole)     # disjoint, same order, same flips
    with pytest.raises(ValueError, match="need 80 images per step but the dataset has 64"):
        BatchSource(tiny_images, batch_size=8, device=torch.device("cpu"), rank=0, world_size=10,
                    generator=torch.Generator())


def test_a_data_position_saved_with_another_global_batch_continues_after_the_images_drawn(tiny_images):
    """Saved by 1 process x 16 after 3 batches (48 images of this epoch); resumed by 2 ranks x 16 (global 32):
    the epoch continues at global batch 48 // 32 = 1, i.e. images 32..63 of the same permutation."""
    saver = BatchSource(tiny_images, batch_size=16, device=torch.device("cpu"),
                        generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        saver.next()
    state = saver.state_dict()
    assert state["global_batch"] == 16 and state["pos"] == 3
    order = state["order"]
    for rank in range(2):
        src = BatchSource(tiny_images, batch_size=16, device=torch.device("cpu"), rank=rank, world_size=2,
                          generator=torch.Generator())
        src.load_state_dict(state)
        batch, ended = src.next()
        want = tiny_images[order[32 + 16 * rank:48 + 16 * rank]].float() * (2 / 255) - 1
        assert torch.allclose(batch, want) and ended                   # the last global batch of that epoch


def test_two_ranks_with_sync_bn_match_one_process_with_the_global_batch_and_resume_across_world_sizes(
        tmp_path, png_folder, tiny_model):
    """1 process x batch 16 for 3 steps, saved; resumed under torchrun as 2 ranks x batch 8 with --sync-bn to
    step 6. The one-process run continued in memory must hold the same G and D within ATOL."""
    from gan_core.checkpoints.store import load_generator
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer

    torch.set_num_threads(1)
    images = load_images(str(png_folder), image_size=16, channels=1).images
    cfg = TrainConfig(dataset=str(png_folder), max_steps=3, batch_size=16, device="cpu", sample_every=100)
    ref = Run(Trainer(tiny_model, cfg, images=images))
    while not ref.done:
        ref.advance()
    start = ref.save(tmp_path / "start")
    before = {k: v.clone() for k, v in ref.trainer.G.state_dict().items()}

    out = tmp_path / "ddp"
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                        "-m", "gan_core", "train", "--resume", str(start), "--batch-size", "8", "--max-steps", "6",
                        "--sync-bn", "--threads", "1", "--out", str(out), "--quiet"],
                       cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == ["device=CPU", "saved", "images_per_s=nan"]  # rank 0 only
    assert "world_size=2 global_batch=16 backend=gloo sync_bn" in lines[0]

    ref.trainer.cfg = TrainConfig(**{**cfg.to_dict(), "max_steps": 6})
    while not ref.done:
        ref.advance()
    g, state = load_file(str(out / "model.safetensors")), load_file(str(out / "training" / "state.safetensors"))
    assert not any(k.startswith("module.") for k in [*g, *state])         # ordinary checkpoint keys
    worst = 0.0
    # model.safetensors holds the generator we sample (the EMA copy when EMA is on); the raw G is in training/
    raw_g = ("G", state, "G.", ref.trainer.G) if any(k.startswith("G.") for k in state) else ("G", g, "", ref.trainer.G)
    for name, tensors, prefix, module in (raw_g, ("EMA", g, "", ref.trainer.sample_generator),
                                          ("D", state, "D.", ref.trainer.D)):
        for k, v in module.state_dict().items():
            worst = max(worst, (v.double() - tensors[prefix + k].double()).abs().max().item())
    assert worst <= ATOL, f"largest difference {worst:.3g}"
    assert max((before[k].float() - g[k].float()).abs().max().item() for k in before) > 1e-5  # it trained

    loaded = load_generator(str(out))                                     # loads and samples like any checkpoint
    with torch.no_grad():
        assert loaded.generator(torch.randn(2, tiny_model.z_dim)).shape == (2, 1, 16, 16)
    assert [row["step"] for row in ref.history][-1] == 6


def test_a_killed_rank_makes_the_survivor_exit_with_one_line_and_the_last_checkpoint_stays(
        tmp_path, png_folder, tiny_checkpoint):
    """Two processes with torchrun's variables resume into the same folder; rank 1 is SIGKILLed mid-run. Rank 0
    must exit non-zero with a clear line (not hang), and the folder must still hold the old checkpoint."""
    out = tiny_checkpoint
    saved = _digest(out)
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = _env(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=port)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gan_core", "train", "--resume", str(out), "--dataset", str(png_folder),
             "--epochs", "100000", "--max-steps", "0", "--batch-size", "8", "--threads", "1",
             "--dist-timeout", "30", "--out", str(out), "--quiet"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    try:
        first = procs[0].stdout.readline()                 # printed once the process group is up and training
        assert "world_size=2" in first, procs[0].stderr.read()
        time.sleep(1.0)
        assert procs[0].poll() is None and procs[1].poll() is None
        procs[1].send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        code = procs[0].wait(timeout=60)
        waited = time.monotonic() - t0
        err = procs[0].stderr.read()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert code == 1 and waited < 45, (code, waited, err)
    error_lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(error_lines) == 1 and "rank 0/2: lost contact with the other processes" in error_lines[0], err
    assert "Traceback" not in err
    assert _digest(out) == saved                          # the last saved checkpoint is untouched
    assert procs[1].stdout.read() == ""                   # rank 1 printed nothing while it ran
