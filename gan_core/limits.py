"""Public mode: every limit a shared server (a Hugging Face Space, a lab machine) puts on strangers, in one place.

`DCGAN_STUDIO_PUBLIC=1` (or `true`/`yes`/`on`) switches it on, and so does running in a Hugging Face Space
(`SPACE_ID` set) unless `DCGAN_STUDIO_PUBLIC=0`; `public_limits()` then returns the `PublicLimits`
below, and `None` in the default private mode, where nothing here applies. The engine enforces the limits
(`JobManager(limits=...)`: run budget, queue cap, one run per owner, abandoned runs, storage quota); the pages
only hide what public mode removes and state the limits (`describe()`). Torch-free: the app's first paint
imports it. Each value was chosen for a 2 vCPU / 16 GB Space; change them here, nowhere else.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV = "DCGAN_STUDIO_PUBLIC"
MiB = 1 << 20


class LimitError(ValueError):
    """A request is over a public-mode limit; the message names the limit and its value."""


class QueueFull(LimitError):
    """The run queue holds `queue_cap` runs already; nothing was queued."""


@dataclass(frozen=True)
class PublicLimits:
    # uploads (Train page data): checked before decoding, and by the decoder (gan_core.data.decoding.ImageLimits)
    max_upload_bytes: int = 50 * MiB        # all uploaded files together, as sent
    max_images: int = 5_000                 # files in the upload / members in a zip
    max_pixels: int = 4_000_000             # declared width x height per image (e.g. 2000 x 2000)
    # one run
    max_steps: int = 3_000                  # a run stops at this step, keeping its checkpoint
    max_run_s: float = 15 * 60.0            # ... or after this much training time (CPU), whichever is first
    max_image_size: int = 64                # px
    max_width: int = 64                     # G width (ngf) and D width (ndf)
    max_batch: int = 128
    # the server
    queue_cap: int = 4                      # runs waiting behind the running one
    abandon_after_s: float = 10 * 60.0      # a run no session has looked at for this long is stopped and deleted
    storage_quota_bytes: int = 2 << 30      # run folders, named checkpoints, Explore uploads: oldest evicted first

    def upload_limits(self):
        """The decoder's caps for uploads in public mode (imports torch through decoding: call it lazily)."""
        from gan_core.data.decoding import ImageLimits

        return ImageLimits(max_files=self.max_images, max_total_bytes=4 * self.max_upload_bytes,
                           max_file_bytes=self.max_upload_bytes, max_pixels=self.max_pixels)


def is_public() -> bool:
    """DCGAN_STUDIO_PUBLIC=1/true/yes/on switches public mode on, 0/false/no/off off; unset, it is on inside a
    Hugging Face Space (SPACE_ID is set there), so a duplicated Space is safe without any configuration."""
    value = os.environ.get(ENV, "").strip().lower()
    if value:
        return value in ("1", "true", "yes", "on")
    return bool(os.environ.get("SPACE_ID"))


def public_limits() -> PublicLimits | None:
    """The limits in force: PublicLimits in public mode, None in private mode (every feature, no caps)."""
    return PublicLimits() if is_public() else None


def _mb(n: int) -> str:
    return f"{n / MiB:.0f} MB"


def check_upload(limits: PublicLimits, *, sizes: list[int]) -> None:
    """Refuse an upload (the byte size of each file) over the count or total-bytes cap, before decoding it."""
    if len(sizes) > limits.max_images:
        raise LimitError(f"{len(sizes):,} files uploaded; the public limit is {limits.max_images:,} images")
    total = sum(sizes)
    if total > limits.max_upload_bytes:
        raise LimitError(f"the upload is {total / MiB:.0f} MB; the public limit is {_mb(limits.max_upload_bytes)} "
                         "in all")


def check_run(limits: PublicLimits, *, image_size: int, g_width: int, d_width: int, batch_size: int) -> None:
    """Refuse a run whose model is over the public size limits (steps and time are a budget, not a refusal)."""
    if image_size > limits.max_image_size:
        raise LimitError(f"image size {image_size} px is over the public limit of {limits.max_image_size} px")
    for name, width in (("G width", g_width), ("D width", d_width)):
        if width > limits.max_width:
            raise LimitError(f"{name} {width} is over the public limit of {limits.max_width}")
    if batch_size > limits.max_batch:
        raise LimitError(f"batch size {batch_size} is over the public limit of {limits.max_batch}")


def refuse_server_path(path: str | Path, *, allowed: tuple[Path, ...]) -> None:
    """Public mode: refuse a local path outside the app's own folders (`allowed`: the data dir, the bundled
    checkpoints) before anything opens it; a no-op in private mode. Symlinks and '..' are resolved first."""
    if not is_public():
        return
    where = Path(path).expanduser().resolve()
    for root in allowed:
        root = Path(root).resolve()
        if where == root or root in where.parents:
            return
    raise LimitError("this is a public server: it does not open paths on its own disk; upload the files, or "
                     "use a bundled checkpoint or a Hub repo id")


def describe(limits: PublicLimits) -> dict[str, str]:
    """One plain sentence per group of limits, for the pages and the README."""
    return {
        "upload": (f"Uploads: at most {_mb(limits.max_upload_bytes)} in all, {limits.max_images:,} images, "
                   f"{limits.max_pixels / 1e6:.0f} megapixels per image."),
        "run": (f"Each run: up to {limits.max_image_size} px, widths up to {limits.max_width}, batch up to "
                f"{limits.max_batch}; it stops (keeping its checkpoint) after {limits.max_steps:,} steps or "
                f"{limits.max_run_s / 60:.0f} min of training."),
        "server": (f"One run per session at a time; at most {limits.queue_cap} runs wait in the queue; a run "
                   f"nobody has looked at for {limits.abandon_after_s / 60:.0f} min is stopped and deleted; "
                   f"saved runs share {limits.storage_quota_bytes / (1 << 30):.0f} GB, oldest removed first."),
        "folder": "This is a public server: it does not read folders on its own disk; upload a .zip instead.",
        "hub": "Publishing needs your own Hugging Face write token, typed here; it is used once and not kept.",
    }
