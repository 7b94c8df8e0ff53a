"""AppTest of the Train page's "Run this on more machines": the commands follow the settings, parse back with the
CLI's parser to the page's configs, and the run.json download feeds `train --config`; folded, it draws nothing."""
from __future__ import annotations

import dataclasses
import shlex

import pytest
from streamlit.testing.v1 import AppTest
from tests.paths import REPO_ROOT

from gan_core.cli import build_parser
from gan_core.cli.train import configs_from_args

PAGE = str(REPO_ROOT / "pages" / "train.py")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.session_state["handover_open"] = True    # its content is drawn only while it is open
    app.run()
    assert not app.exception, app.exception
    return app


def _commands(at: AppTest) -> list[str]:
    return [c.value for c in at.code if c.value.startswith("torchrun")]


def _parse(command: str):
    argv = shlex.split(command.replace("\\\n", " "))
    args = build_parser().parse_args(argv[argv.index("gan_core") + 1:])
    args.device = "cpu"                      # configs_from_args resolves it; this machine has no GPU
    return args, configs_from_args(args)


def test_handover_commands_follow_the_settings_and_parse_back(at, tmp_path):
    at.selectbox(key="preset").set_value("improved").run()
    at.number_input(key="seed").set_value(7)
    at.number_input(key="handover_gpus").set_value(4)
    at.number_input(key="handover_nodes").set_value(3)
    at.text_input(key="handover_endpoint").set_value("10.0.0.5:29500")
    at.text_input(key="handover_out").set_value("runs/improved digits")
    at.toggle(key="handover_sync_bn").set_value(True).run()
    assert not at.exception and not at.error

    one, many, short = _commands(at)
    assert one.startswith("torchrun --standalone --nproc-per-node 4 -m gan_core train")
    assert many.startswith("torchrun --nnodes 3 --nproc-per-node 4 --rdzv-backend c10d --rdzv-endpoint "
                           "10.0.0.5:29500")
    assert shlex.split(short.replace("\\\n", " ")) == [
        "torchrun", "--standalone", "--nproc-per-node", "4", "-m", "gan_core", "train", "--config", "run.json",
        "--out", "runs/improved digits"]
    args, (model, train) = _parse(one)
    assert args.out == "runs/improved digits"
    # the page's own settings: the improved preset's defaults and the seed typed above, for the cluster
    assert (model.preset, model.z_dim, train.lr_g, train.lr_d, train.g_steps, train.seed, train.sync_bn) == (
        "improved", 128, 4e-4, 2e-4, 2, 7, True)
    assert train.dataset == "digits" and train.epochs == at.number_input(key="epochs").value
    assert _parse(many)[1] == (model, train)
    assert any("4 GPUs train on 256 images per step" in m.value for m in at.markdown)

    # the download button is there (its bytes are checked through a real browser download: see the report)
    labels = [str(d.proto.label) for d in at.get("download_button")]
    assert "Download settings (run.json)" in labels


def test_an_empty_output_folder_is_an_error_not_a_command(at):
    at.text_input(key="handover_out").set_value("  ").run()
    assert not at.exception
    assert any("output folder must not be empty" in e.value for e in at.error)
    assert _commands(at) == []


def test_the_default_run_is_the_cli_default_digits_run(at):
    """Issue 12: the page's untouched settings train exactly `python -m gan_core train --dataset digits --epochs 20`
    (the grid cadence, a display setting that draws no random numbers, is the only field allowed to differ)."""
    page_model, page_train = _parse(_commands(at)[0])[1]
    args = build_parser().parse_args(["train", "--dataset", "digits", "--epochs", "20"])
    args.device = "cpu"
    cli_model, cli_train = configs_from_args(args)
    assert page_model == cli_model
    assert dataclasses.replace(page_train, sample_every=cli_train.sample_every) == cli_train
    assert (cli_train.lr_g, cli_train.beta1, cli_train.beta2, cli_train.ema_decay) == (1e-3, 0.0, 0.99, 0.999)


def test_folded_handover_draws_nothing():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception, app.exception
    assert not _commands(app) and "handover_gpus" not in [n.key for n in app.number_input]
    assert [e.label for e in app.expander if e.label == "Run this on more machines"]
