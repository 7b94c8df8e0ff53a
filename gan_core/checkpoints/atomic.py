"""Atomic checkpoint folders: write into a `.NAME.tmp-*` sibling, flush it, and swap it in with two renames;
between them the previous folder waits as `.NAME.old-*`, which `recover()` puts back if a save was killed there,
and which the next save clears once it is stale."""
from __future__ import annotations

import glob
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def recover(path: Path) -> Path:
    """If a save was killed between its two renames, the previous checkpoint waits as .NAME.old-*."""
    if path.exists():
        return path
    olds = sorted(path.parent.glob(f".{glob.escape(path.name)}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        olds[-1].rename(path)
    return path


STALE_S = 600  # a save never takes 10 minutes: older temp folders are leftovers of a killed save


def _clean_leftovers(out: Path) -> None:
    """Remove stale `.NAME.tmp-*` (and `.NAME.old-*` once NAME exists again) left by saves that were killed."""
    now = time.time()
    patterns = [f".{glob.escape(out.name)}.tmp-*"] + ([f".{glob.escape(out.name)}.old-*"] if out.is_dir() else [])
    for pattern in patterns:
        for p in out.parent.glob(pattern):
            try:
                if now - p.stat().st_mtime > STALE_S:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass


def temp_dir_for(out: Path) -> Path:
    """A fresh `.NAME.tmp-*` sibling of `out` to write into (stale leftovers of killed saves removed first)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(out)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def swap_in(tmp: Path, out: Path) -> None:
    """Replace `out` by `tmp` with two renames; between them the old folder is kept as .NAME.old-*."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def fsync_tree(root: Path) -> None:
    """Flush every file under `root` to disk before the rename makes it the checkpoint."""
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Write a folder atomically: yields a fresh temp sibling of `out` to fill; on a clean exit it is flushed and
    swapped in as `out`, on any error it is removed and `out` is left as it was."""
    tmp = temp_dir_for(out)
    try:
        yield tmp
        fsync_tree(tmp)
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def copy_folder(src: Path, out: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """Copy the checkpoint folder `src` to `out` atomically (a temp sibling, flushed, swapped in), leaving out the
    top-level entries named in `skip` (e.g. "training" for a copy without the resume state)."""
    out = Path(out).expanduser().resolve()
    with atomic_folder(out) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True, ignore=lambda d, names: skip if Path(d) == Path(src) else ())
    return out
