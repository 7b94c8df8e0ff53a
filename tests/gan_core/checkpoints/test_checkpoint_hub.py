"""Checkpoints from every source give the same pixels: a bundled checkpoint, the same folder served by repo id
from a pre-populated Hugging Face cache with HF_HUB_OFFLINE=1 (API and CLI), an upload of config.json +
model.safetensors, and a pytorch/examples netG .pth (plain state dicts only: pickles are refused)."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from gan_core.checkpoints.store import CheckpointError, bundled_checkpoints, load_generator
from gan_core.sampling import images_from_seeds
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_hub_cache(cache: Path, repo_id: str, folder: Path) -> Path:
    """Lay `folder` out exactly as huggingface_hub caches a download: blobs named by content hash, a snapshot
    of symlinks for one commit, and refs/main naming that commit."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    for f in sorted(folder.iterdir()):
        if not f.is_file():
            continue
        data = f.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snap / f.name).symlink_to(os.path.relpath(blob, snap))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return repo


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """HF_HOME / HF_HUB_CACHE under tmp and HF_HUB_OFFLINE=1 (also in huggingface_hub's already-read constants)."""
    import huggingface_hub.constants as hf_constants

    home = tmp_path / "hf"
    cache = home / "hub"
    cache.mkdir(parents=True)
    for k, v in {"HF_HOME": str(home), "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache


def _bundled_or_tiny(tiny_checkpoint: Path) -> tuple[str, Path]:
    names = bundled_checkpoints()
    if names:
        from gan_core.checkpoints.store import BUNDLED_DIR
        return names[0], BUNDLED_DIR / names[0]
    return str(tiny_checkpoint), tiny_checkpoint


def test_bundled_checkpoint_loads_and_is_small():
    from gan_core.checkpoints.store import BUNDLED_DIR

    names = bundled_checkpoints()
    if not names:
        pytest.skip("no bundled checkpoint")
    for name in names:
        folder = BUNDLED_DIR / name
        for f in ("config.json", "model.safetensors", "README.md", "samples.png"):
            assert (folder / f).is_file(), f"{name} lacks {f}"
        assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= 15 * 2**20
        assert "python -m gan_core train" in (folder / "README.md").read_text()
        loaded = load_generator(name)
        imgs = images_from_seeds(loaded.generator, [0, 1])
        assert imgs.shape == (2, loaded.config.channels, loaded.config.image_size, loaded.config.image_size)


def test_same_checkpoint_by_repo_id_from_offline_cache(offline_hub, tiny_checkpoint, tmp_path):
    source, folder = _bundled_or_tiny(tiny_checkpoint)
    fake_hub_cache(offline_hub, "studio-user/dcgan-test", folder)
    local = load_generator(source)
    hub = load_generator("studio-user/dcgan-test")
    assert hub.path.name == COMMIT and hub.config == local.config
    seeds = [0, 5, 9]
    assert torch.equal(images_from_seeds(hub.generator, seeds), images_from_seeds(local.generator, seeds))
    assert torch.equal(images_from_seeds(load_generator(f"studio-user/dcgan-test@{COMMIT}").generator, seeds),
                       images_from_seeds(local.generator, seeds))
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache"):
        load_generator("studio-user/never-downloaded")


def test_cli_sample_by_repo_id_offline_is_byte_identical(offline_hub, tiny_checkpoint, tmp_path):
    """A fresh process (HF_HUB_OFFLINE=1 read at import, as a user's shell would) samples the repo id; the
    in-process CLI samples the folder: the PNG files are byte-identical."""
    from gan_core.cli import main

    fake_hub_cache(offline_hub, "studio-user/tiny", tiny_checkpoint)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(offline_hub.parent), "HF_HUB_CACHE": str(offline_hub),
           "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "gan_core", "sample", "--checkpoint", "studio-user/tiny", "--seeds",
                        "0-7", "--out", str(tmp_path / "hub.png")], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    assert main(["sample", "--checkpoint", str(tiny_checkpoint), "--seeds", "0-7",
                 "--out", str(tmp_path / "folder.png")]) == 0
    assert (tmp_path / "hub.png").read_bytes() == (tmp_path / "folder.png").read_bytes()


def test_upload_config_and_safetensors_roundtrip(tiny_checkpoint):
    from ui.explore.files import save_uploaded_checkpoint

    folder = save_uploaded_checkpoint((tiny_checkpoint / "config.json").read_bytes(),
                                      (tiny_checkpoint / "model.safetensors").read_bytes())
    assert (folder / "README.md").is_file()
    assert torch.equal(images_from_seeds(load_generator(folder).generator, [1, 2]),
                       images_from_seeds(load_generator(tiny_checkpoint).generator, [1, 2]))
    # The same bytes again reuse the folder; wrong weights leave nothing behind.
    assert save_uploaded_checkpoint((tiny_checkpoint / "config.json").read_bytes(),
                                    (tiny_checkpoint / "model.safetensors").read_bytes()) == folder
    with pytest.raises(CheckpointError, match="safetensors"):
        save_uploaded_checkpoint((tiny_checkpoint / "config.json").read_bytes(), pickle.dumps({"a": 1}))
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def examples_netg(nz: int, ngf: int, nc: int) -> nn.Sequential:
    """pytorch/examples' 64x64 generator layout (as `main`): ConvT stem, three x2 ConvT blocks, ConvT + Tanh."""
    def block(i: int, o: int, *args: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(i, o, 4, *args, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]
    return nn.Sequential(*block(nz, ngf * 8, 1, 0), *block(ngf * 8, ngf * 4, 2, 1), *block(ngf * 4, ngf * 2, 2, 1),
                         *block(ngf * 2, ngf, 2, 1), nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


class NetG(nn.Module):
    def __init__(self, nz: int, ngf: int, nc: int) -> None:
        super().__init__()
        self.main = examples_netg(nz, ngf, nc)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def _trained_looking_netg(nz=16, ngf=4, nc=3) -> NetG:
    torch.manual_seed(0)
    net = NetG(nz, ngf, nc)
    with torch.no_grad():   # non-trivial BatchNorm statistics, as after training
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.8, 1.2)
    return net.eval()


def test_pth_import_matches_the_original_network(tmp_path):
    from gan_core.checkpoints.pth_import import generator_from_pth, import_pth, infer_sizes, read_state_dict

    net = _trained_looking_netg()
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    data = buf.getvalue()
    assert infer_sizes(read_state_dict(data)) == {"nz": 16, "ngf": 4, "channels": 3}
    g, cfg = generator_from_pth(data, nz=16, ngf=4, channels=3)
    assert cfg.image_size == 64 and cfg.preset == "dcgan"
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(g(z), net(z.view(3, 16, 1, 1)), atol=1e-6)
    # DataParallel's module. prefix, and a file on disk, also work; the folder loads like any checkpoint.
    path = tmp_path / "netG_epoch_24.pth"
    torch.save({"module." + k: v for k, v in net.state_dict().items()}, path)
    folder = import_pth(path, tmp_path / "imported", nz=16, ngf=4, channels=3)
    loaded = load_generator(folder)
    with torch.no_grad():
        assert torch.allclose(loaded.generator(z), net(z.view(3, 16, 1, 1)), atol=1e-6)
    with pytest.raises(CheckpointError, match="looks like nz=16, ngf=4, channels=3"):
        generator_from_pth(data, nz=16, ngf=8, channels=3)


def test_pth_import_refuses_pickles_and_non_state_dicts(tmp_path):
    from gan_core.checkpoints.pth_import import generator_from_pth

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (shutil.copy, (__file__, str(marker)))

    with pytest.raises(CheckpointError, match="not a plain PyTorch state dict"):
        generator_from_pth(pickle.dumps(Evil()), nz=16, ngf=4, channels=3)
    buf = io.BytesIO()
    torch.save(Evil(), buf)
    with pytest.raises(CheckpointError, match="not a plain PyTorch state dict"):
        generator_from_pth(buf.getvalue(), nz=16, ngf=4, channels=3)
    assert not marker.exists()
    buf = io.BytesIO()
    torch.save(_trained_looking_netg(), buf)          # a whole pickled module, not a state dict
    with pytest.raises(CheckpointError, match="not a plain PyTorch state dict"):
        generator_from_pth(buf.getvalue(), nz=16, ngf=4, channels=3)
    buf = io.BytesIO()
    torch.save({"epoch": 3, "main.0.weight": torch.zeros(1)}, buf)
    with pytest.raises(CheckpointError, match="not a plain state dict of tensors"):
        generator_from_pth(buf.getvalue(), nz=16, ngf=4, channels=3)
    with pytest.raises(CheckpointError):
        generator_from_pth(b"not a torch file", nz=16, ngf=4, channels=3)


def test_pth_import_refuses_oversized_sizes_before_allocating():
    from gan_core.checkpoints.pth_import import generator_from_pth

    buf = io.BytesIO()
    torch.save(_trained_looking_netg().state_dict(), buf)
    with pytest.raises(CheckpointError, match="parameters"):
        generator_from_pth(buf.getvalue(), nz=100, ngf=1024, channels=3)   # ~2 GB of weights: refused up front
