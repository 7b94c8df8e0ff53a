"""Paths the tests share: the repository root (tests live one to three folders below it)."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
