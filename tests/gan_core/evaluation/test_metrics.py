"""Evaluation: `gan_core eval` JSON, the offline digits score, Inception metrics' offline message, the maths."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants as hf_constants

from gan_core.evaluation.digits_score import classifier_score, coverage, digits_score, frechet_distance
from gan_core.evaluation.inception import MetricUnavailable, ensure_inception_weights, scores_from_features
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


@pytest.fixture
def no_inception(tmp_path, monkeypatch) -> Path:
    """An empty torch hub cache and offline mode: nothing may try (or hang on) the network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)      # what the variable sets when read at import
    return tmp_path / "torch_home"


def _run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TORCH_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_core", "eval", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


def test_cli_prints_one_json_object_last(tiny_checkpoint, no_inception):
    proc = _run_cli("--checkpoint", str(tiny_checkpoint), "--dataset", "digits", "--n", "32",
                    "--metrics", "digits", "--seed", "3", home=no_inception)
    assert proc.returncode == 0, proc.stderr
    values = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(values) >= {"digits_coverage", "digits_confident", "digits_score", "digits_fd", "digits_fd_floor"}
    assert 0 <= values["digits_coverage"] <= 10 and 0 <= values["digits_confident"] <= 1
    assert 1 - 1e-6 <= values["digits_score"] <= 10 and values["digits_fd"] > values["digits_fd_floor"] > 0
    assert "generating" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_offline_inception_is_one_line_and_digits_still_work(tiny_checkpoint, no_inception, capsys):
    proc = _run_cli("--checkpoint", str(tiny_checkpoint), "--n", "16", "--metrics", "fid,digits",
                    "--quiet", home=no_inception)
    assert proc.returncode == 0
    values = json.loads(proc.stdout.strip().splitlines()[-1])
    assert values["fid"] is None and isinstance(values["digits_fd"], float)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "offline" in lines[0] and "Traceback" not in proc.stderr
    from gan_core.cli import main                                     # in-process: same code, no start-up cost

    assert main(["eval", "--checkpoint", str(tiny_checkpoint), "--n", "16", "--metrics", "fid", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1]) == {"fid": None} and "offline" in err


def test_inception_weights_fail_fast_offline(no_inception):
    t0 = time.perf_counter()
    with pytest.raises(MetricUnavailable, match="offline") as info:
        ensure_inception_weights()
    assert "\n" not in str(info.value) and time.perf_counter() - t0 < 2


def test_inception_download_failure_is_a_clear_message(tmp_path, monkeypatch):
    """Not told to be offline, but the download cannot connect (a closed local port): one line, no hang."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("DCGAN_STUDIO_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("DCGAN_STUDIO_INCEPTION_URL", "http://127.0.0.1:9/weights.pth")
    t0 = time.perf_counter()
    with pytest.raises(MetricUnavailable, match="download failed"):
        ensure_inception_weights(timeout=5)
    assert time.perf_counter() - t0 < 10
    assert not list((tmp_path / "th").rglob("*.part"))  # no half-written file left behind


def test_digits_score_on_a_tiny_generator(tiny_checkpoint, no_inception):
    from gan_core.evaluation.evaluate import evaluate

    r = evaluate(str(tiny_checkpoint), dataset="digits", n=64, metrics="digits,fid,is", seed=1)
    assert set(r.unavailable) == {"fid", "is"}
    d = r.details["digits"]
    assert d["n"] == 64 and abs(sum(d["class_shares"]) - 1) < 1e-5
    # a 3-step generator draws blobs: few classes, far from real digits (well above the real-vs-real floor)
    assert d["coverage"] <= 3 and d["fd"] > 3 * d["fd_floor"]
    again = evaluate(str(tiny_checkpoint), dataset="digits", n=64, metrics="digits", seed=1)
    assert again.values == {k: v for k, v in r.values.items()}  # seeded: the same numbers


def test_digits_score_of_real_digits_sits_at_the_floor():
    from gan_core.data.datasets import load_digits

    images, _ = load_digits(split="held_out")
    s = digits_score(images[:300], seed=0)
    assert s.coverage == 10 and s.confident_share > 0.8 and s.classifier_score > 7
    assert s.fd < 2 * s.fd_floor


def test_score_maths():
    one_hot = torch.eye(10).repeat(5, 1)                              # 50 samples, all classes, fully sure
    assert classifier_score(one_hot) == pytest.approx(10)
    assert classifier_score(torch.full((20, 10), 0.1)) == pytest.approx(1)
    assert coverage(one_hot) == 10 and coverage(torch.eye(10)[[3] * 20]) == 1
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g)
    b = torch.randn(4000, 3, generator=g) * 2 + torch.tensor([1.0, 0, 0])
    # Gaussians N(0, I) vs N(m, 4I): |m|^2 + 3 * (1 + 4 - 2 * 2) = 1 + 3 = 4
    assert frechet_distance(a, b) == pytest.approx(4, rel=0.1)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)


def test_torchmetrics_scores_from_features():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(64, 8, generator=g, dtype=torch.float64)
    same = scores_from_features(real, real, torch.zeros(64, 12, dtype=torch.float64), seed=0)
    assert same["fid"] == pytest.approx(0, abs=1e-6) and same["is_mean"] == pytest.approx(1)
    shifted = scores_from_features(real, real + 1, torch.randn(64, 12, generator=g, dtype=torch.float64), seed=0)
    assert shifted["fid"] == pytest.approx(8, rel=1e-3)              # |mean shift|^2 = 8 x 1, same covariance
    assert shifted["kid_mean"] > same["kid_mean"] and math.isfinite(shifted["is_std"])
    assert scores_from_features(None, real, real, metrics=("fid", "kid"), seed=0) == {}


def test_training_history_records_digits_coverage(tiny_model, tiny_train, tiny_images):
    from gan_core.training.run import Run
    from gan_core.training.trainer import Trainer

    run = Run(Trainer(tiny_model, tiny_train, images=tiny_images))
    while not run.done:
        run.advance()
    covered = [r for r in run.history if "coverage" in r]
    assert covered and all(0 <= r["coverage"] <= 10 and "diversity" in r for r in covered)
    assert run.grids[-1].coverage is not None


def test_record_scores_touches_only_the_scores(tiny_checkpoint):
    from gan_core.checkpoints.store import load_generator
    from gan_core.evaluation.evaluate import record_scores

    card_before = (tiny_checkpoint / "README.md").read_text()
    config_before = json.loads((tiny_checkpoint / "config.json").read_text())
    record_scores(tiny_checkpoint, {"digits_fd": 12.5, "digits_coverage": 3})
    record_scores(tiny_checkpoint, {"digits_fd": 10.25, "digits_coverage": 4})   # replaces, never duplicates
    card = (tiny_checkpoint / "README.md").read_text()
    assert card.count("## Scores") == 1 and "| digits_fd | 10.25 |" in card and "12.5" not in card
    head, rest = card.split("## Scores")
    assert head + "## Use" + rest.split("## Use")[1] == card_before              # everything else unchanged
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config.pop("scores") == {"digits_fd": 10.25, "digits_coverage": 4} and config == config_before
    load_generator(tiny_checkpoint)                                               # still a valid checkpoint


def test_inception_download_writes_atomically_with_progress(tmp_path, monkeypatch):
    """The real download code against a local HTTP server: progress reported, file moved into torch's cache."""
    import functools
    import http.server
    import threading

    from gan_core.evaluation.inception import inception_weights_file

    served = tmp_path / "srv"
    served.mkdir()
    payload = os.urandom(3 * (1 << 20) + 123)                       # 3 MiB and a bit: several chunks
    (served / "w.pth").write_bytes(payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("DCGAN_STUDIO_OFFLINE", raising=False)
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("DCGAN_STUDIO_INCEPTION_URL", f"http://127.0.0.1:{server.server_port}/w.pth")
        seen = []
        path = ensure_inception_weights(lambda stage, done, total: seen.append((done, total)), timeout=10)
    finally:
        server.shutdown()
    assert path == inception_weights_file() and path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload)) and len(seen) >= 4
    assert ensure_inception_weights() == path                       # cached: no second download
