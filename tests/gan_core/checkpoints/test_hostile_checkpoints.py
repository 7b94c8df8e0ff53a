"""Hostile checkpoints: pickles never run (only torch.load(weights_only=True) and safetensors), missing or malformed
config.json, absurd sizes refused before allocating, weights that do not fit the config, and the Hub's failure
modes (missing, gated, revision, offline, unreachable), each a one-line message."""
from __future__ import annotations

import http.server
import json
import os
import pickle
import resource
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from gan_core.checkpoints.store import CheckpointError, load_generator, save_checkpoint
from gan_core.models import Generator
from gan_core.checkpoints.pth_import import read_state_dict
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


@pytest.fixture
def ckpt(tmp_path, tiny_model) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "ckpt", generator=Generator(tiny_model), model_cfg=tiny_model, steps=1)


class Payload:
    """Unpickling this runs code: it writes the marker file (what a malicious checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (eval, (f"__import__('pathlib').Path({self.marker!r}).write_text('pwned')",))


def hostile_files(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (file, marker it would write if unpickled) for each pickle flavour people ship."""
    out = {}
    for name, write in {
        "netG.pt": lambda f, m: torch.save(Payload(m), f),                                      # torch zip
        "netG.pth": lambda f, m: torch.save({"main.0.weight": torch.zeros(2), "x": Payload(m)}, f),
        "pytorch_model.bin": lambda f, m: torch.save(Payload(m), f, _use_new_zipfile_serialization=False),
        "model.pkl": lambda f, m: f.write_bytes(pickle.dumps(Payload(m), protocol=2)),          # plain pickle
    }.items():
        f, m = tmp_path / "files" / name, tmp_path / "markers" / (name + ".ran")
        f.parent.mkdir(exist_ok=True)
        m.parent.mkdir(exist_ok=True)
        write(f, m)
        out[name] = (f, m)
    return out


def test_payloads_are_armed_so_the_refusals_below_mean_something(tmp_path):
    # positive control on our own file in a temp dir: plain unpickling really does run the payload
    f, marker = hostile_files(tmp_path)["model.pkl"]
    pickle.loads(f.read_bytes())
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("name", ["netG.pt", "netG.pth", "pytorch_model.bin", "model.pkl"])
def test_pickles_refused_by_weights_only_loader(tmp_path, name):
    f, marker = hostile_files(tmp_path)[name]
    with pytest.raises(CheckpointError, match="weights_only=True|not a plain state dict"):
        read_state_dict(f)
    with pytest.raises(CheckpointError):
        read_state_dict(f.read_bytes())                          # the upload path: bytes in memory
    assert not marker.exists()


def test_folder_of_pickles_is_not_a_checkpoint_and_nothing_runs(tmp_path, ckpt):
    files = hostile_files(tmp_path)
    with pytest.raises(CheckpointError, match="has no config.json"):
        load_generator(tmp_path / "files")
    # a real config but the weights only as pickles: the pickle is never opened
    (ckpt / "model.safetensors").unlink()
    for f, _ in files.values():
        (ckpt / f.name).write_bytes(f.read_bytes())
    with pytest.raises(CheckpointError, match="has no model.safetensors"):
        load_generator(ckpt)
    # a pickle renamed model.safetensors is refused by the safetensors parser
    (ckpt / "model.safetensors").write_bytes(files["netG.pt"][0].read_bytes())
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_generator(ckpt)
    assert not any(m.exists() for _, m in files.values())


@pytest.mark.parametrize("content,words", [
    (None, "has no config.json"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b"[1, 2, 3]", "must hold a JSON object"),
    (b'{"image_size": 16, "channels": 1}', "missing z_dim"),
    (b'{"image_size": 16, "channels": 1, "z_dim": "8"}', "z_dim must be a whole number"),
    (b'{"image_size": 16, "channels": 1, "z_dim": true}', "z_dim must be a whole number"),
    (b'{"image_size": 16, "channels": 1, "z_dim": 8.5}', "z_dim must be a whole number"),
    (b'{"image_size": 16, "channels": 1, "z_dim": NaN}', "z_dim must be a whole number"),
    (b'{"image_size": 16, "channels": 1, "z_dim": null}', "z_dim must be a whole number"),
    (b'{"image_size": 16, "channels": 4, "z_dim": 8}', "channels must be 1"),
    (b'{"image_size": 16, "channels": 1, "z_dim": 8, "preset": "evil"}', "preset must be one of"),
    (b"[" * 200_000 + b"]" * 200_000, "not valid JSON"),            # nesting bomb: RecursionError in json
    (b" " * (2 << 20) + b"{}", "larger than 1 MiB"),
], ids=["missing", "not-json", "not-utf8", "list", "no-z", "str", "bool", "float", "nan", "null", "channels",
        "preset", "deep-nesting", "huge"])
def test_missing_or_malformed_config(ckpt, content, words):
    if content is None:
        (ckpt / "config.json").unlink()
    else:
        (ckpt / "config.json").write_bytes(content)
    with pytest.raises(CheckpointError, match=words) as err:
        load_generator(ckpt)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("values,words", [
    ({"z_dim": 10**9}, "z_dim must be in"),
    ({"z_dim": 10**400}, "z_dim must be in"),
    ({"image_size": 4096}, "image_size must be one of"),
    ({"g_width": 10**6}, "g_width must be in"),
    ({"d_width": -1}, "d_width must be in"),
    ({"g_width": 1024, "image_size": 128, "channels": 3}, "parameters"),   # each value in range, the total not
])
def test_absurd_sizes_refused_before_allocating(ckpt, values, words):
    info = json.loads((ckpt / "config.json").read_text())
    (ckpt / "config.json").write_text(json.dumps({**info, **values}))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match=words):
        load_generator(ckpt)
    assert time.perf_counter() - t0 < 2
    # ru_maxrss is a high-water mark in KiB: building any of these models would raise it by gigabytes
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 200 << 10


def test_weights_that_do_not_fit_the_config(ckpt, tiny_model):
    weights = ckpt / "model.safetensors"
    good = Generator(tiny_model).state_dict()
    info = json.loads((ckpt / "config.json").read_text())
    (ckpt / "config.json").write_text(json.dumps({**info, "z_dim": 16}))
    with pytest.raises(CheckpointError, match=r"do not match config.json \(shape of .* is \(8, "):
        load_generator(ckpt)
    (ckpt / "config.json").write_text(json.dumps(info))
    save_file({k: v for k, v in list(good.items())[1:]}, str(weights))
    with pytest.raises(CheckpointError, match="do not match config.json \\(missing"):
        load_generator(ckpt)
    save_file({**good, "junk": torch.zeros(3)}, str(weights))
    with pytest.raises(CheckpointError, match="unexpected junk"):
        load_generator(ckpt)
    # a header that claims 2**40 bytes of JSON, and a file cut in half
    weights.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_generator(ckpt)
    save_file(good, str(weights))
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_generator(ckpt)


# ---- the Hub: a fake endpoint on localhost answers like the real one; our mapping turns each into a message ----
class FakeHub(http.server.BaseHTTPRequestHandler):
    """repo names say what to answer: missing -> 404 RepoNotFound, gated -> 403 GatedRepo, rev 'nosuchrev' ->
    404 RevisionNotFound (the X-Error-Code headers huggingface_hub maps to its error classes)."""

    requests: list[str] = []

    def do_GET(self) -> None:
        FakeHub.requests.append(self.path)
        if "nosuchrev" in self.path:
            code, err = 404, "RevisionNotFound"
        elif "missing" in self.path:
            code, err = 404, "RepoNotFound"
        elif "gated" in self.path:
            code, err = 403, "GatedRepo"
        else:
            code, err = 500, ""
        body = b'{"error": "fake hub"}'
        self.send_response(code)
        if err:
            self.send_header("X-Error-Code", err)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """huggingface_hub pointed at a local fake Hub with an empty cache (constants are read at call time)."""
    import huggingface_hub.constants as hf

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(hf, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    yield hf
    server.shutdown()


@pytest.mark.parametrize("source,words", [
    ("someone/missing-model", "no Hub model repo 'someone/missing-model' \\(or it is private"),
    ("someone/gated-model", "gated on the Hub: accept its terms"),
    ("someone/model@nosuchrev", "has no revision 'nosuchrev': check the branch"),
    ("someone/server-error", "cannot be reached"),
])
def test_hub_errors_are_clear_messages(hub, source, words):
    with pytest.raises(CheckpointError, match=words) as err:
        load_generator(source)
    assert "\n" not in str(err.value)


def test_hub_offline_and_unreachable(hub, monkeypatch):
    monkeypatch.setattr(hub, "ENDPOINT", "http://127.0.0.1:9")          # nothing listens: connection refused
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache and the Hub cannot be reached"):
        load_generator("someone/model")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)                     # what HF_HUB_OFFLINE=1 sets at import
    with pytest.raises(CheckpointError, match="someone/model@v2 is not in the local Hugging Face cache"):
        load_generator("someone/model@v2")


def test_cli_offline_env_is_one_line_exit_2(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "gan_core", "sample", "--checkpoint", "someone/model",
                           "--out", str(tmp_path / "x.png")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: someone/model is not in the local Hugging Face cache")
    assert not (tmp_path / "x.png").exists()


def test_path_like_and_invalid_repo_ids_never_reach_the_hub(hub):
    FakeHub.requests.clear()
    for source in ("../../no-such-dir", "./user/model", "/no/such/dir", "a/b/c", "user/name with space", "~/x"):
        with pytest.raises(CheckpointError, match="not a folder, a bundled name"):
            load_generator(source)
    assert FakeHub.requests == []
    with pytest.raises(CheckpointError, match="has no config.json"):
        load_generator("/")                                   # a real folder that is not a checkpoint
