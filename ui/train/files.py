"""What the Train page downloads and saves: run CSV, training GIF, checkpoint folder zip, named checkpoints.

No streamlit here: each function takes a `TrainingJob` (or plain values) and returns bytes or a path, so the
page can pass them to `st.download_button(data=callable)` and compute them only when a user clicks.
Checkpoints saved by name go to `data_home()/checkpoints/<name>`; temporary folders live under `data_home()`.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from gan_core.data.datasets import data_home
from gan_core.export import gif_from_pngs
from gan_core.training.jobs import TrainingJob

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HISTORY_COLUMNS = ("step", "epoch", "loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after",
                   "aug_p", "images_per_s", "diversity")


def checkpoints_dir() -> Path:
    return data_home() / "checkpoints"


def check_name(name: str) -> str:
    """A checkpoint name is 1-64 letters, digits, '_' or '-' (it becomes a folder name)."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValueError("a checkpoint name is 1-64 characters: letters, digits, '_' or '-' (no spaces or '/')")
    return name


def save_named(job: TrainingJob, name: str) -> Path:
    """Save the job's checkpoint (with resume state) to data_home()/checkpoints/<name>, replacing an older one."""
    return job.save(checkpoints_dir() / check_name(name))


def default_name(job: TrainingJob) -> str:
    snap = job.snapshot(since=1 << 62)
    data = re.sub(r"[^A-Za-z0-9_-]", "-", snap.data.get("name", "data"))[:24]
    return f"{job.model_cfg.preset}-{data}-{snap.step}"


def run_csv(job: TrainingJob) -> bytes:
    """'# key,value' lines with the model and training config, then one row per recorded step."""
    snap = job.snapshot()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for prefix, cfg in (("model", job.model_cfg.to_dict()), ("train", job.train_cfg.to_dict())):
        for k, v in cfg.items():
            w.writerow([f"# {prefix}.{k}", v])
    w.writerow(["# data.name", snap.data.get("name", job.train_cfg.dataset)])
    w.writerow(["# device", snap.device])
    w.writerow(HISTORY_COLUMNS)
    for r in snap.history:
        w.writerow([r.get(c, "") for c in HISTORY_COLUMNS])
    return out.getvalue().encode()


def latest_grid(job: TrainingJob) -> bytes:
    """The newest fixed-noise grid as PNG bytes."""
    got = job.grid_png(1 << 30)  # the index is clamped to the newest grid
    if got is None:
        raise ValueError("no sample grid yet")
    return got[1]


def training_gif(job: TrainingJob, *, duration_ms: int = 250) -> bytes:
    """The fixed-noise grids of the run, oldest first, as an animated GIF."""
    pngs = job.grid_pngs()
    if not pngs:
        raise ValueError("no sample grid yet")
    return gif_from_pngs(pngs, duration_ms=duration_ms)


def checkpoint_zip(job: TrainingJob) -> bytes:
    """Save the checkpoint into a temp folder under data_home(), zip it (Hub layout inside), remove the folder."""
    tmp_root = data_home() / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=tmp_root, prefix="ckpt-"))
    try:
        folder = job.save(tmp / default_name(job), remember=False)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    zf.write(p, arcname=str(Path(folder.name) / p.relative_to(folder)))
        return buf.getvalue()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
