"""The hand-over to torchrun: generated commands parse back (through a real shell) to the same configs, run.json
feeds `train --config` with flags winning, and the distributed bad inputs are one line with nothing written."""
from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess

import pytest

from gan_core.cli import build_parser, main
from gan_core.cli.launch import read_run_file, run_file, torchrun_command, train_argv
from gan_core.cli.train import configs_from_args
from gan_core.config import ConfigError, ModelConfig, TrainConfig

# Every field away from its default, so a flag the command forgot would show as a difference.
MODEL = ModelConfig(preset="improved", image_size=32, channels=3, z_dim=64, g_width=24, d_width=40)
TRAIN = TrainConfig(dataset="/data/my faces", epochs=7, max_steps=900, batch_size=32, lr_g=3e-4, lr_d=1.5e-4,
                    beta1=0.45, beta2=0.99, g_steps=2, d_steps=3, label_smoothing=0.1, seed=11, device="cuda",
                    hflip=True, sample_every=40, amp=False, compile=True, sync_bn=True)


def _shell_argv(command: str) -> list[str]:
    """What a POSIX shell passes to the program: run the command with `torchrun` replaced by printf."""
    out = subprocess.run(["bash", "-c", "torchrun() { printf '%s\\0' \"$@\"; }; " + command],
                         capture_output=True, text=True, check=True).stdout
    return out.split("\0")[:-1]


@pytest.mark.parametrize("nodes", [1, 3])
def test_torchrun_command_parses_back_to_the_same_configs(nodes):
    cmd = torchrun_command(MODEL, TRAIN, out="runs/big run", nproc_per_node=8, nnodes=nodes,
                           endpoint="node0.cluster:29500")
    argv = _shell_argv(cmd)
    module = argv.index("-m")
    launcher, rest = argv[:module], argv[module + 2:]
    assert argv[module + 1] == "gan_core"
    if nodes == 1:
        assert launcher == ["--standalone", "--nproc-per-node", "8"]
    else:
        assert launcher == ["--nnodes", "3", "--nproc-per-node", "8", "--rdzv-backend", "c10d", "--rdzv-endpoint",
                            "node0.cluster:29500", "--rdzv-id", "dcgan-studio"]
    args = build_parser().parse_args(rest)                # the CLI's own parser
    assert args.out == "runs/big run"
    model, train = _configs_without_device(args)
    assert model == MODEL
    assert train == TRAIN


def _configs_without_device(args):
    """configs_from_args resolves the device to apply its defaults; this machine may have no GPU."""
    args.device = "cpu"
    model, train = configs_from_args(args)
    return model, dataclasses.replace(train, device="cuda")


def test_several_nodes_need_an_endpoint():
    with pytest.raises(ConfigError, match="rendezvous endpoint"):
        torchrun_command(MODEL, TRAIN, out="o", nproc_per_node=2, nnodes=2)


def test_run_json_feeds_train_config_and_flags_win(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(run_file(MODEL, dataclasses.replace(TRAIN, device="cpu", metrics_every=5)))
    args = build_parser().parse_args(["train", "--config", str(path), "--lr-g", "0.001", "--no-hflip"])
    model, train = configs_from_args(args)
    assert model == MODEL
    assert train == dataclasses.replace(TRAIN, device="cpu", metrics_every=5, lr_g=1e-3, hflip=False)
    assert read_run_file(path)["metrics_every"] == 5       # a setting with no flag still travels in the file


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"model": {}}), "is not a DCGAN Studio settings file"),
    (json.dumps({"format": "dcgan-studio-run/1", "train": {"lr": 1}}), "unknown train setting(s) lr"),
    (json.dumps({"format": "dcgan-studio-run/1", "train": {"epochs": 0}}), "epochs must be in [1, 100000]"),
])
def test_a_bad_settings_file_is_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "run.json"
    path.write_text(content)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "out").exists()


def _bad(tmp_path, capsys, *argv: str) -> str:
    out = tmp_path / "out"
    code = main(["train", *argv, "--image-size", "16", "--z-dim", "8", "--g-width", "4", "--d-width", "4",
                 "--max-steps", "2", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert not out.exists()
    return err


def test_sync_bn_without_torchrun_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert "--sync-bn needs several processes started by torchrun" in _bad(tmp_path, capsys, "--sync-bn",
                                                                          "--device", "cpu")


def test_more_ranks_than_batches_is_refused_before_joining(tmp_path, capsys, monkeypatch):
    # 4,000 digits / batch 64 = 62 batches: 63 ranks could not each draw one. Checked before any rendezvous,
    # so no process group is needed for this test.
    monkeypatch.setenv("WORLD_SIZE", "63")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    err = _bad(tmp_path, capsys, "--device", "cpu", "--batch-size", "64")
    assert "63 processes x batch 64 need 4032 images per step but the dataset has 4000" in err


def test_resuming_with_another_preset_is_refused(tmp_path, capsys, tiny_checkpoint):
    err = _bad(tmp_path, capsys, "--resume", str(tiny_checkpoint), "--preset", "upsample", "--device", "cpu")
    assert "holds a dcgan model with preset=dcgan; --preset upsample cannot change it" in err


def test_cuda_without_a_gpu_is_refused_under_torchrun_too(tmp_path, capsys, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert "device cuda was asked for but no CUDA GPU is visible" in _bad(tmp_path, capsys, "--device", "cuda")


def test_ranks_other_than_local_zero_keep_quiet_on_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert main(["train", "--epochs", "0", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == ""


def test_train_argv_has_one_flag_per_field():
    argv = train_argv(MODEL, TRAIN)
    flags = [a for a in argv if a.startswith("--")]
    n_fields = len(dataclasses.fields(ModelConfig)) + len(dataclasses.fields(TrainConfig)) - 1  # metrics_every
    assert len(flags) == len(set(flags)) == n_fields
    assert shlex.join(argv).count("'/data/my faces'") == 1
