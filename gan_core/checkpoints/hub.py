"""The Hugging Face Hub side of checkpoints: parse `user/name[@revision][:file]`, download only the files the
repo's format needs (sizes checked from the Hub's metadata before a byte is fetched, progress in bytes), fall back
to the local cache when offline, and search models for the Explore page's Hub browser.

Everything goes through huggingface_hub's own client (HfApi.model_info / list_models, hf_hub_download), so
HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and the cache layout behave as they do for any Hub user. Files land in the
Hugging Face cache only; nothing here unpickles (formats.py reads the weights).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from gan_core.checkpoints.formats import MAX_WEIGHTS_BYTES, STUDIO, TRAINING_FILES, Plan, plan, top_level_files
from gan_core.checkpoints.store import CheckpointError, read_config_json

Progress = Callable[[int, int, str], None]      # (bytes done, bytes total, file name)
SOURCE = re.compile(r"^(?P<repo>[^@:\s]+)(?:@(?P<rev>[^:\s]+))?(?::(?P<file>[^/\\\s]+))?$")
MAX_SMALL_BYTES = 2 << 20                        # config.json, README.md, sample images
SEARCH_TAGS = ("dcgan", "gan", "huggan")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


OFFLINE_SEARCH = ("the Hugging Face Hub is off (HF_HUB_OFFLINE=1): search needs a connection; bundled, uploaded "
                  "and already downloaded checkpoints still load")


class HubUnavailable(CheckpointError):
    """The Hub cannot be reached (offline, HF_HUB_OFFLINE=1, connection refused, server error)."""


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str | None = None
    filename: str | None = None

    def __str__(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "") + (f":{self.filename}"
                                                                                if self.filename else "")


@dataclass(frozen=True)
class HubModel:
    """One search result: what the browser shows, and the sample image's file name when the repo has one."""

    id: str
    likes: int = 0
    downloads: int = 0
    last_modified: datetime | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    files: tuple[str, ...] = field(default=(), repr=False)


def parse_hub_source(source: str) -> HubRef | None:
    m = SOURCE.match(source.strip())
    if not m:
        return None
    return HubRef(m.group("repo"), m.group("rev") or None, m.group("file") or None)


def hub_offline() -> bool:
    """HF_HUB_OFFLINE=1 (read by huggingface_hub at import): no request is made, only the cache is used."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's connection/timeout errors (httpx2, which huggingface_hub 2.x installs and uses)."""
    try:
        import httpx2
    except ImportError:             # another huggingface_hub HTTP stack: its errors subclass OSError
        return ()
    return (httpx2.TransportError,)


def _unreachable(exc: BaseException) -> bool:
    """A connection problem or a server error (5xx): the cache may still have the files."""
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, (hf_errors.OfflineModeIsEnabled, *_transport_errors(), ConnectionError, TimeoutError)):
        return True
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(exc, hf_errors.HfHubHTTPError) and (status is None or status >= 500)


def _message(exc: BaseException, ref: HubRef) -> CheckpointError:
    """huggingface_hub's error classes -> one line a user can act on."""
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, hf_errors.GatedRepoError):
        return CheckpointError(f"{ref.repo_id} is gated on the Hub: accept its terms on the model page and log in "
                               "(HF_TOKEN or `hf auth login`)")
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return CheckpointError(f"{ref.repo_id} has no revision {ref.revision!r}: check the branch, tag or commit")
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return CheckpointError(f"no Hub model repo {ref.repo_id!r} (or it is private: log in with a token that "
                               "can read it)")
    if isinstance(exc, hf_errors.EntryNotFoundError):
        return CheckpointError(f"{ref} lists a file the Hub does not serve ({exc.__class__.__name__})")
    if isinstance(exc, hf_errors.HFValidationError):
        return CheckpointError(f"{ref.repo_id!r} is not a valid Hub repo id ({str(exc).splitlines()[0]})")
    if _unreachable(exc):
        return HubUnavailable(f"{ref} is not in the local Hugging Face cache and the Hub cannot be reached "
                              "(offline?). Connect once to download it, or use a bundled checkpoint")
    if "Consistency check failed" in str(exc):
        return CheckpointError(f"the download of {ref} was cut short (the file is smaller than the Hub said): "
                               "try again")
    return CheckpointError(f"could not download {ref} from the Hub: {type(exc).__name__}")


def _bytes_bar(progress: Progress | None, name: str) -> type[tqdm] | None:
    """A tqdm class huggingface_hub drives per chunk: silent, it forwards (done, total, name) to `progress`."""
    if progress is None:
        return None

    class _Bar(tqdm):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.done, self.expected = int(kwargs.get("initial") or 0), int(kwargs.get("total") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            self.done += int(n or 0)
            progress(self.done, self.expected, name)
            return None

    return _Bar


def _fetch(ref: HubRef, filename: str, *, size: int | None, cap: int, progress: Progress | None) -> Path:
    """One file into the cache, refused before download when the Hub says it is larger than `cap`."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

    if size is None:              # the listing did not say: ask with a HEAD request (no body)
        url = hf_hub_url(ref.repo_id, filename, revision=ref.revision, endpoint=constants.ENDPOINT)
        size = get_hf_file_metadata(url).size
    if size is not None and size > cap:
        raise CheckpointError(f"{ref.repo_id}/{filename} is {size / 2**20:.0f} MiB (limit {cap >> 20} MiB): "
                              "refused before downloading; a DCGAN generator is far smaller")
    if progress is not None:
        # huggingface_hub reads the body in DOWNLOAD_CHUNK_SIZE pieces (10 MiB) and ticks the bar once per piece:
        # a 14 MB DCGAN would jump 0 -> 73% -> 100%. 1 MiB pieces give a bar that moves; the cost is nil.
        constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, 1 << 20)
    path = Path(hf_hub_download(ref.repo_id, filename, revision=ref.revision,
                                tqdm_class=_bytes_bar(progress, filename)))
    if path.stat().st_size > cap:
        raise CheckpointError(f"{filename} is larger than {cap >> 20} MiB; refusing to read it")
    return path


def _from_cache(ref: HubRef) -> tuple[Path, Plan]:
    """Offline: the snapshot already in the cache for this revision, its format detected from what is there."""
    from huggingface_hub import snapshot_download
    from huggingface_hub import errors as hf_errors

    try:
        folder = Path(snapshot_download(ref.repo_id, revision=ref.revision, local_files_only=True))
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled, FileNotFoundError):
        raise HubUnavailable(f"{ref} is not in the local Hugging Face cache and the Hub cannot be reached "
                             "(offline?). Connect once to download it, or use a bundled checkpoint") from None
    except hf_errors.HFValidationError as exc:
        raise _message(exc, ref) from None
    config = read_config_json(folder) if (folder / "config.json").is_file() else None
    return folder, plan(top_level_files(folder), config, where=str(ref), filename=ref.filename)


def download(ref: HubRef, *, progress: Progress | None = None, training: bool = False) -> tuple[Path, Plan]:
    """The repo's listing (with sizes), its config.json, then the weights its format needs -> (snapshot folder,
    plan); `training` also fetches a DCGAN Studio repo's training/ state (to resume, or for its history).
    Offline or unreachable: the cached snapshot. Every Hub failure is one CheckpointError line."""
    from huggingface_hub import HfApi

    if hub_offline():
        return _from_cache(ref)
    try:
        info = HfApi().model_info(ref.repo_id, revision=ref.revision, files_metadata=True)
        sizes = {s.rfilename: (s.lfs.size if s.lfs else s.size) for s in info.siblings or []}
        top = [n for n in sizes if "/" not in n]
        config, folder = None, None
        if "config.json" in sizes and not ref.filename:
            folder = _fetch(ref, "config.json", size=sizes["config.json"], cap=1 << 20, progress=None).parent
            config = read_config_json(folder)
        chosen = plan(top, config, where=str(ref), filename=ref.filename)
        cap = MAX_WEIGHTS_BYTES
        folder = _fetch(ref, chosen.weights, size=sizes.get(chosen.weights), cap=cap, progress=progress).parent
        for extra in chosen.extras + (TRAINING_FILES if training and chosen.format == STUDIO else ()):
            if extra in sizes:
                _fetch(ref, extra, size=sizes[extra], cap=cap if extra.startswith("training/") else MAX_SMALL_BYTES,
                       progress=progress if extra.startswith("training/") else None)
        return folder, chosen
    except CheckpointError:
        raise
    except Exception as exc:      # huggingface_hub / httpx2 errors: a cache fallback or one line
        if _unreachable(exc):
            return _from_cache(ref)
        raise _message(exc, ref) from None


def _probe() -> None:
    """One request without retries: list_models retries a refused connection for ~23 s (1+2+4+8+8 s of backoff)
    before failing, so an unreachable Hub is detected here first, in at most a few seconds."""
    from huggingface_hub import constants, get_session

    try:
        get_session().head(constants.ENDPOINT + "/api/models", timeout=5)
    except (*_transport_errors(), OSError):
        raise HubUnavailable("the Hugging Face Hub cannot be reached (offline?): search needs a connection; "
                             "bundled, uploaded and already downloaded checkpoints still load") from None


def _image_of(files: list[str]) -> str | None:
    """The repo's sample image: samples.png, else an image whose name says sample, else the first image."""
    images = [f for f in files if "/" not in f and f.lower().endswith(IMAGE_SUFFIXES)]
    for f in ("samples.png", *sorted(images, key=lambda f: ("sample" not in f.lower(), f))):
        if f in images:
            return f
    return None


def search_models(text: str = "", *, tags: tuple[str, ...] | list[str] = SEARCH_TAGS,
                  limit: int = 20) -> list[HubModel]:
    """Models matching `text` that carry any of `tags` (one query per tag, merged), most downloaded first."""
    from huggingface_hub import HfApi

    if hub_offline():
        raise HubUnavailable(OFFLINE_SEARCH)
    found: dict[str, HubModel] = {}
    _probe()
    expand = ["likes", "downloads", "lastModified", "siblings", "tags"]
    try:
        for tag in (list(tags) or [None]):
            for m in HfApi().list_models(search=text.strip() or None, filter=tag, sort="downloads", limit=limit,
                                         expand=expand):
                files = tuple(s.rfilename for s in m.siblings or [])
                found.setdefault(m.id, HubModel(m.id, m.likes or 0, m.downloads or 0, m.last_modified,
                                                tuple(m.tags or ()), _image_of(list(files)), files))
    except Exception as exc:
        if _unreachable(exc):
            raise HubUnavailable("the Hugging Face Hub cannot be reached (offline?): search needs a connection; "
                                 "bundled, uploaded and already downloaded checkpoints still load") from None
        raise CheckpointError(f"the Hub search failed: {type(exc).__name__}") from None
    return sorted(found.values(), key=lambda m: (-m.downloads, -m.likes, m.id))[:limit]


def sample_image(model: HubModel) -> bytes | None:
    """The bytes of a search result's sample image (at most 2 MiB, cached), or None when it has none or fails."""
    if not model.image:
        return None
    try:
        return _fetch(HubRef(model.id), model.image, size=None, cap=MAX_SMALL_BYTES, progress=None).read_bytes()
    except Exception:             # a missing picture must not break the list
        return None
