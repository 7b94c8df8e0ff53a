"""One base exception for "the user's input is wrong", and the one offline check."""
from __future__ import annotations

import subprocess
import sys

from huggingface_hub import constants as hf_constants

from gan_core.checkpoints.hub_checks import offline
from gan_core.checkpoints.store import CheckpointError
from gan_core.config import ConfigError
from gan_core.data.datasets import DataError
from gan_core.data.decoding import ArchiveError
from gan_core.errors import UserError
from tests.paths import REPO_ROOT


def test_every_user_error_is_one_user_error():
    for cls in (ConfigError, DataError, ArchiveError, CheckpointError):
        assert issubclass(cls, UserError) and issubclass(cls, ValueError), cls


def test_errors_module_is_torch_free():
    code = "import sys, gan_core.errors, gan_core.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_offline_follows_huggingface_hub_and_our_variable(monkeypatch):
    monkeypatch.delenv("DCGAN_STUDIO_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    assert not offline()
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    assert offline()
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("DCGAN_STUDIO_OFFLINE", "yes")
    assert offline()
