"""Hub-hosted checkpoints as people publish them, through the real huggingface_hub client talking to a local Hub
(tests/hub_server.py, 127.0.0.1): HugGAN mixin repos (safetensors and .bin), pytorch/examples netG_epoch_N.pth
repos, this project's own layout, `@revision`, `:file`; search; and the failures (missing, gated/401, missing
revision, truncated download, oversized file refused before download, pickles, foreign models). Outputs are
compared with reference networks built from plain torch.nn layers (tests/hub_repos.py), in eval mode."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from gan_core.checkpoints.store import CheckpointError, load_generator
from tests.hub_repos import (ExamplesNetG, HugGANGenerator, examples_files, folder_files, huggan_files,
                             point_client_at, torch_bytes, trained_looking)
from tests.hub_server import HubServer
from tests.paths import REPO_ROOT


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with HubServer() as server:
        point_client_at(monkeypatch, server.url, tmp_path / "hf-cache")
        yield server


def same_outputs(loaded, reference, z_dim: int) -> None:
    z = torch.randn(4, z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours, theirs = loaded.generator(z), reference(z.view(4, z_dim, 1, 1))
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()


@pytest.mark.parametrize("bin", [False, True], ids=["safetensors", "pytorch_model.bin"])
def test_huggan_repo_by_id_matches_the_original_network(hub, bin):
    net = trained_looking(HugGANGenerator(num_channels=3, latent_dim=8, hidden_size=4))
    files = huggan_files(net, bin=bin)
    hub.add("huggan/tiny-dcgan", files)
    seen = []
    loaded = load_generator("huggan/tiny-dcgan", progress=lambda done, total, name: seen.append((done, total, name)))
    assert loaded.format == "huggan-dcgan" and loaded.description == "HugGAN DCGAN, 64×64×3, z 8"
    assert (loaded.config.preset, loaded.config.image_size, loaded.config.g_width) == ("dcgan", 64, 4)
    same_outputs(loaded, net, 8)
    weights = "pytorch_model.bin" if bin else "model.safetensors"
    assert seen and seen[-1] == (len(files[weights]), len(files[weights]), weights)   # real bytes, to the end
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


def test_progress_moves_through_a_multi_megabyte_download(hub):
    net = trained_looking(HugGANGenerator(num_channels=3, latent_dim=100, hidden_size=40))   # 1.6M params, 6.4 MB
    files = huggan_files(net)
    hub.add("huggan/bigger", files)
    seen = []
    loaded = load_generator("huggan/bigger", progress=lambda done, total, name: seen.append(done / total))
    size = len(files["model.safetensors"])
    assert size > 5 << 20 and len(seen) >= size >> 20                 # a tick per MiB, not one at the end
    assert seen[-1] == 1.0 and 0 < seen[0] < 0.25
    same_outputs(loaded, net, 100)


def test_examples_repo_highest_epoch_wins_and_a_named_file_loads(hub):
    nets = {5: trained_looking(ExamplesNetG(8, 4, 1), 5), 24: trained_looking(ExamplesNetG(8, 4, 1), 24),
            10: trained_looking(ExamplesNetG(8, 4, 1), 10)}
    hub.add("someone/dcgan-mnist", examples_files(nets))
    latest = load_generator("someone/dcgan-mnist")
    assert latest.description == "pytorch/examples netG (netG_epoch_24.pth), 64×64×1, z 8"
    same_outputs(latest, nets[24], 8)
    assert hub.fetched("netG_epoch_5.pth") == []              # only the file needed was downloaded
    named = load_generator("someone/dcgan-mnist:netG_epoch_10.pth")
    same_outputs(named, nets[10], 8)
    with pytest.raises(CheckpointError, match="has no file 'netG_epoch_99.pth'"):
        load_generator("someone/dcgan-mnist:netG_epoch_99.pth")


def test_own_layout_by_id_and_revision(hub, tiny_checkpoint, tmp_path):
    from gan_core.models import Generator
    from gan_core.sampling import images_from_seeds

    repo = hub.add("studio/tiny", folder_files(tiny_checkpoint))
    old = load_generator(tiny_checkpoint)
    newer = tmp_path / "newer"
    with torch.no_grad():
        for p in old.generator.parameters():
            p.add_(0.05)
    from gan_core.checkpoints.store import save_checkpoint
    save_checkpoint(newer, generator=old.generator, model_cfg=old.config, steps=9)
    first = next(iter(repo.commits))
    repo.add_commit(folder_files(newer))                      # main moves on; v1 tags the first commit
    repo.refs["v1"] = first
    a, b = load_generator("studio/tiny@v1"), load_generator("studio/tiny")
    assert a.format == b.format == "dcgan-studio"
    assert torch.equal(images_from_seeds(a.generator, [1, 2]), images_from_seeds(load_generator(tiny_checkpoint)
                                                                                  .generator, [1, 2]))
    assert not torch.equal(images_from_seeds(a.generator, [1]), images_from_seeds(b.generator, [1]))
    assert not (a.path / "training").exists()                      # sampling does not fetch the resume state
    from gan_core.checkpoints.store import resolve_source
    assert (resolve_source("studio/tiny@v1") / "training" / "state.safetensors").is_file()   # resuming does
    # interoperable: plain huggingface_hub + the mixin's from_pretrained, by repo id
    plain = Generator.from_pretrained("studio/tiny", revision="v1").eval()
    assert torch.equal(images_from_seeds(plain, [1, 2]), images_from_seeds(a.generator, [1, 2]))


def test_search_by_text_and_tags(hub):
    from gan_core.checkpoints.hub import search_models

    net = trained_looking(HugGANGenerator(3, 8, 4))
    hub.add("huggan/pokemon-dcgan", {**huggan_files(net), "samples.png": b"\x89PNG..."}, tags=["huggan", "gan"],
            likes=7, downloads=120, last_modified="2025-06-02T10:00:00.000Z")
    hub.add("someone/mnist-dcgan", examples_files({1: ExamplesNetG(8, 4, 1)}), tags=["dcgan"], downloads=900)
    hub.add("someone/gpt-tiny", {"config.json": b'{"model_type": "gpt2"}'}, tags=["text-generation"])
    found = search_models("", tags=("dcgan", "huggan"))
    assert [m.id for m in found] == ["someone/mnist-dcgan", "huggan/pokemon-dcgan"]   # most downloaded first
    poke = found[1]
    assert (poke.likes, poke.downloads, poke.image, poke.last_modified.year) == (7, 120, "samples.png", 2025)
    assert found[0].image is None
    assert [m.id for m in search_models("pokemon", tags=("gan",))] == ["huggan/pokemon-dcgan"]
    assert search_models("gpt", tags=("dcgan",)) == []


@pytest.mark.parametrize("source,words", [
    ("nobody/nothing", "no Hub model repo 'nobody/nothing'"),
    ("gated/dcgan", "gated on the Hub: accept its terms"),
    ("huggan/tiny@no-such-branch", "has no revision 'no-such-branch'"),
    ("huggan/truncated", "was cut short"),
    ("huggan/huge", "is 10240 MiB .*refused before downloading"),
    ("diffusers/ddpm", "diffusers pipeline .*supported: a DCGAN Studio"),
    ("text/gpt", "transformers model .*supported:"),
    ("nothing/here", "has no config.json and no netG_epoch_N.pth"),
    ("huggan/evil-bin", "weights_only=True"),
    ("huggan/not-dcgan", "transposed convolutions do not make a DCGAN"),
    ("huggan/liar", "config.json says latent_dim/hidden_size/num_channels"),
])
def test_bad_repos_are_one_line_and_nothing_runs(hub, tmp_path, source, words):
    net = trained_looking(HugGANGenerator(3, 8, 4))
    good = huggan_files(net)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (eval, (f"__import__('pathlib').Path({str(marker)!r}).write_text('x')",))

    hub.add("huggan/tiny", good)
    hub.add("gated/dcgan", good, gated=True)
    hub.add("huggan/truncated", good, truncate={"model.safetensors"})
    hub.add("huggan/huge", good, oversize={"model.safetensors": 10 << 30})
    hub.add("diffusers/ddpm", {"model_index.json": b"{}", "unet/config.json": b"{}"})
    hub.add("text/gpt", {"config.json": b'{"model_type": "gpt2"}', "model.safetensors": b""})
    hub.add("nothing/here", {"README.md": b"# hi"})
    hub.add("huggan/evil-bin", {"config.json": good["config.json"],
                                "pytorch_model.bin": torch_bytes({"model.0.weight": Payload()})})
    hub.add("huggan/not-dcgan", {"config.json": good["config.json"], "pytorch_model.bin":
                                 torch_bytes({"model.0.weight": torch.zeros(8, 4, 4, 4)})})
    liar = json.loads(good["config.json"])
    hub.add("huggan/liar", {**good, "config.json": json.dumps({**liar, "latent_dim": 100}).encode()})
    with pytest.raises(CheckpointError, match=words) as err:
        load_generator(source)
    assert "\n" not in str(err.value)
    assert not marker.exists()
    if source == "huggan/huge":
        assert hub.fetched("model.safetensors") == []            # refused from the metadata: no body requested


@pytest.mark.parametrize("fmt", ["huggan-dcgan", "pytorch-examples", "dcgan-studio"])
def test_each_format_loads_offline_from_the_cache_after_one_download(hub, monkeypatch, tiny_checkpoint, fmt):
    import huggingface_hub.constants as hf

    from gan_core.sampling import images_from_seeds

    if fmt == "huggan-dcgan":
        net = trained_looking(HugGANGenerator(1, 8, 4))
        hub.add("someone/cached", huggan_files(net, bin=True))
    elif fmt == "pytorch-examples":
        net = trained_looking(ExamplesNetG(8, 4, 1))
        hub.add("someone/cached", examples_files({1: ExamplesNetG(8, 4, 1), 7: net}))
    else:
        hub.add("someone/cached", folder_files(tiny_checkpoint))
    online = load_generator("someone/cached")
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    n = len(hub.requests)
    loaded = load_generator("someone/cached")
    assert len(hub.requests) == n and loaded.format == online.format == fmt     # no request at all
    if fmt == "dcgan-studio":
        assert torch.equal(images_from_seeds(loaded.generator, [4]), images_from_seeds(online.generator, [4]))
    else:
        same_outputs(loaded, net, 8)


def test_cli_reads_hf_endpoint_at_import_and_resumes_a_foreign_generator(hub, tmp_path, capsys):
    """A fresh process (HF_ENDPOINT set before huggingface_hub is imported, as a user's shell would) samples a
    HugGAN repo and gets one line for a missing one; `train --resume` from the repo (in process): G continues
    from the repo's weights, D starts fresh and the CLI says so."""
    from gan_core.cli import main

    net = trained_looking(HugGANGenerator(1, 8, 4))
    hub.add("huggan/tiny-grey", huggan_files(net))
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("HF_HUB_CACHE", None)
    code = ("import sys; from gan_core.cli import main; sys.exit(max(main(a) for a in ("
            f"['sample', '--checkpoint', 'huggan/tiny-grey', '--n', '4', '--out', {str(tmp_path / 's.png')!r}],"
            f"['sample', '--checkpoint', 'nobody/x@v9', '--out', {str(tmp_path / 'x.png')!r}])))")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (tmp_path / "s.png").stat().st_size > 100 and not (tmp_path / "x.png").exists()
    assert r.stderr.strip().splitlines() == ["error: no Hub model repo 'nobody/x' (or it is private: log in with a "
                                             "token that can read it)"]
    assert main(["train", "--resume", "huggan/tiny-grey", "--dataset", "digits", "--max-steps", "2",
                 "--batch-size", "4", "--quiet", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "no discriminator" in err and "D starts fresh" in err
    info = json.loads((tmp_path / "r" / "config.json").read_text())
    assert (info["image_size"], info["z_dim"], info["g_width"], info["steps"]) == (64, 8, 4, 2)


def test_search_offline_or_unreachable_is_one_line(hub, monkeypatch):
    import time

    import huggingface_hub.constants as hf

    from gan_core.checkpoints.hub import HubUnavailable, search_models

    monkeypatch.setattr(hf, "ENDPOINT", "http://127.0.0.1:9")            # nothing listens: connection refused
    t0 = time.perf_counter()
    with pytest.raises(HubUnavailable, match="cannot be reached .*bundled, uploaded"):
        search_models("faces")
    assert time.perf_counter() - t0 < 10
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubUnavailable, match="HF_HUB_OFFLINE=1"):
        search_models("faces")


def test_local_folders_of_each_foreign_format(tmp_path, capsys):
    """The same detection for folders on disk (a cloned repo, a training output dir)."""
    hg = trained_looking(HugGANGenerator(1, 8, 4))
    for name, data in huggan_files(hg, bin=True).items():
        (tmp_path / "huggan").mkdir(exist_ok=True)
        (tmp_path / "huggan" / name).write_bytes(data)
    same_outputs(load_generator(tmp_path / "huggan"), hg, 8)
    nets = {2: trained_looking(ExamplesNetG(8, 4, 3), 2), 11: trained_looking(ExamplesNetG(8, 4, 3), 11)}
    (tmp_path / "examples").mkdir()
    for name, data in examples_files(nets).items():
        (tmp_path / "examples" / name).write_bytes(data)
    loaded = load_generator(tmp_path / "examples")
    assert loaded.format == "pytorch-examples" and "netG_epoch_11.pth" in loaded.description
    same_outputs(loaded, nets[11], 8)
    same_outputs(load_generator(tmp_path / "examples" / "netG_epoch_2.pth"), nets[2], 8)   # a file, by path
    from gan_core.cli import main

    assert main(["train", "--resume", str(tmp_path / "examples" / "netG_epoch_2.pth"), "--max-steps", "1",
                 "--batch-size", "2", "--quiet", "--out", str(tmp_path / "resumed")]) == 0
    assert "D starts fresh" in capsys.readouterr().err
    assert json.loads((tmp_path / "resumed" / "config.json").read_text())["z_dim"] == 8


def test_evaluate_page_reads_a_foreign_repos_settings(hub):
    from ui.evaluate.sources import run_info

    hub.add("someone/examples", examples_files({4: trained_looking(ExamplesNetG(8, 4, 1))}))
    info = run_info("someone/examples")
    assert (info.settings["image_size"], info.settings["z_dim"], info.settings["g_width"]) == (64, 8, 4)
    assert info.history == []
