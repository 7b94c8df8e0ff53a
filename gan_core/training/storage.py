"""The storage quota of public mode: run folders (and other per-user folders) share a byte budget, and the
oldest are deleted first when it is exceeded, never a folder an active run writes to.

A unit of eviction is one direct child folder of a root (a run folder `runs/<job id>`, a named checkpoint
`checkpoints/<name>`, an Explore upload): its size is the sum of its files, its age the newest mtime inside it
(a checkpoint saved again is young again). Symlinks are neither followed nor counted.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def _size_and_age(folder: Path) -> tuple[int, float]:
    size, newest = 0, folder.stat().st_mtime
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            size += st.st_size
            newest = max(newest, st.st_mtime)
    return size, newest


def folders(roots: tuple[Path, ...]) -> list[tuple[Path, int, float]]:
    """(folder, bytes, newest mtime) for every child folder of the roots, oldest first."""
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                try:
                    found.append((child, *_size_and_age(child)))
                except OSError:   # deleted while we looked
                    continue
    return sorted(found, key=lambda f: f[2])


def evict_oldest(roots: tuple[Path, ...], *, quota_bytes: int, keep: set[Path] = frozenset()) -> list[Path]:
    """Delete the oldest folders until the total fits `quota_bytes`; folders in (or holding) `keep` stay.
    Returns the folders deleted (oldest first)."""
    entries = folders(tuple(Path(r) for r in roots))
    total = sum(size for _, size, _ in entries)
    kept = {Path(k).resolve() for k in keep}
    removed: list[Path] = []
    for folder, size, _ in entries:
        if total <= quota_bytes:
            break
        here = folder.resolve()
        if any(k == here or here in k.parents for k in kept):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        removed.append(folder)
    return removed
