"""Explore's generator sources: bundled checkpoints, Hub repo ids, uploaded files, and this session's runs.

Every source ends up as one string kept by `ui.state.explore_source()`: a bundled name, a local checkpoint
folder (uploads and run snapshots are written as Hub-layout folders under the app's data dir, so they load,
sample and publish exactly like any checkpoint), or a Hub `user/name[@revision]`. Loaded generators are cached
read-only with `st.cache_resource`, keyed by the source and (for folders) the weights file's mtime.
"""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from gan_core.checkpoints.modelcard import card_body
from gan_core.checkpoints.store import (BUNDLED_DIR, CheckpointError, LoadedGenerator, bundled_checkpoints,
                                        load_generator, resolve_source)
from ui import state
from ui.explore.files import explore_dir, import_pth_upload, save_uploaded_checkpoint, snapshot_job
from ui.explore.hub import hub_ui, progress_bar

BUNDLED, HUB, UPLOAD, PTH, RUNS = ("Bundled", "Hugging Face Hub", "Upload checkpoint files",
                                   "Upload a .pth (pytorch/examples)", "This session's runs")
KINDS = (BUNDLED, HUB, UPLOAD, PTH, RUNS)


def default_source() -> str | None:
    names = bundled_checkpoints()
    return names[0] if names else None


def kind_of(source: str | None) -> str:
    """Which chooser tab a source string belongs to (for pre-selecting the radio)."""
    if not source or source in bundled_checkpoints():
        return BUNDLED
    if source.startswith("job:"):
        return RUNS
    path = Path(source)
    if path.is_dir():
        root = explore_dir()
        if root / "imports" in path.parents:
            return PTH
        if root / "uploads" in path.parents:
            return UPLOAD
        return RUNS      # a run snapshot, or a checkpoint saved from the Train page
    return HUB


def resolve_job_source(source: str) -> str:
    """'job:<id>' -> a snapshot folder of that run (raises CheckpointError if it is gone or has no step yet)."""
    job_id = source.split(":", 1)[1]
    job = next((j for j in state.session_jobs() if j.id == job_id), None)
    if job is None:
        raise CheckpointError("that training run is no longer available in this session; save it on the Train "
                              "page to keep it")
    return str(snapshot_job(job))


# ---- loading (cached) ----
def source_key(source: str) -> str:
    """Cache key: the folder and its weights' mtime (a re-saved checkpoint reloads), else the Hub source."""
    path = BUNDLED_DIR / source if source in bundled_checkpoints() else Path(source)
    weights = path / "model.safetensors"
    if path.is_dir() and weights.is_file():
        return f"{path.resolve()}|{weights.stat().st_mtime_ns}"
    return source


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(key: str, source: str) -> LoadedGenerator:
    return load_generator(source)


def load(source: str, *, progress=None) -> LoadedGenerator:
    """The generator for `source`, from the process-wide cache (never modify it: it is shared). With `progress`,
    a Hub repo's files are first downloaded outside the cached function (so the bar's updates are not recorded
    for replay), reporting bytes; the cached load then finds them in the Hugging Face cache."""
    if progress is not None:
        resolve_source(source, progress=progress, training=False)
    return _load(source_key(source), source)


# ---- the chooser ----
def _set(source: str) -> None:
    state.set_explore_source(source)


def _bundled_ui(current: str | None) -> None:
    names = bundled_checkpoints()
    if not names:
        st.info("No bundled checkpoints in checkpoints/.")
        return
    index = names.index(current) if current in names else 0
    st.selectbox("Bundled checkpoint", names, index=index, key="explore_bundled",
                 on_change=lambda: _set(state.value("explore_bundled")))
    if current not in names:
        st.button("Load this checkpoint", key="explore_load_bundled",
                  on_click=lambda: _set(state.value("explore_bundled") or names[0]))


def _hub_ui(current: str | None) -> None:
    hub_ui(current if kind_of(current) == HUB else None, load=load, choose=_set)


def _upload_ui() -> None:
    c1, c2 = st.columns(2)
    cfg = c1.file_uploader("config.json", type=["json"], key="explore_up_config")
    weights = c2.file_uploader("model.safetensors", type=["safetensors"], key="explore_up_weights")
    if st.button("Load uploaded files", key="explore_load_upload", disabled=not (cfg and weights)):
        try:
            _set(str(save_uploaded_checkpoint(cfg.getvalue(), weights.getvalue())))
        except CheckpointError as exc:
            st.error(f"Could not use the uploaded files: {exc}")
        else:
            st.rerun()


def _pth_ui() -> None:
    st.caption("A generator state dict saved by pytorch/examples' dcgan (`netG_epoch_*.pth`, 64x64). It is read "
               "with `torch.load(weights_only=True)`: pickled objects are refused.")
    up = st.file_uploader("netG .pth", type=["pth", "pt"], key="explore_up_pth")
    if up is not None:
        hint = _pth_hint(up.getvalue())
        if hint:
            st.caption(hint)
    c1, c2, c3 = st.columns(3)
    nz = c1.number_input("nz (z size)", 2, 1024, 100, key="explore_pth_nz")
    ngf = c2.number_input("ngf (G width)", 4, 1024, 64, key="explore_pth_ngf")
    nc = c3.selectbox("channels", [3, 1], key="explore_pth_nc")
    if st.button("Import .pth", key="explore_load_pth", disabled=up is None):
        try:
            _set(str(import_pth_upload(up.getvalue(), up.name, nz=int(nz), ngf=int(ngf), channels=int(nc))))
        except CheckpointError as exc:
            st.error(f"Could not import {up.name}: {exc}")
        else:
            st.rerun()


def _pth_hint(data: bytes) -> str:
    """'The file looks like nz=100, ngf=64, channels=3' from its tensor shapes, or '' if it cannot tell."""
    from gan_core.checkpoints.pth_import import infer_sizes, read_state_dict

    try:
        g = infer_sizes(read_state_dict(data))
    except CheckpointError:
        return ""
    return f"From its weights the file looks like nz={g['nz']}, ngf={g['ngf']}, channels={g['channels']}."


def _runs_ui() -> None:
    jobs = [j for j in state.session_jobs() if j.has_weights]
    if not jobs:
        st.info("No runs in this session yet: start one on the Train page.")
        return
    labels = {j.id: j.label() for j in reversed(jobs)}
    pick = st.selectbox("Run", list(labels), format_func=labels.get, key="explore_job")
    if st.button("Load this run's current weights", key="explore_load_job"):
        try:
            _set(resolve_job_source(f"job:{pick}"))
        except CheckpointError as exc:
            st.error(str(exc))
        else:
            st.rerun()


def current_source() -> str | None:
    """The source to show: what Home/Train/this page chose, else the first bundled checkpoint."""
    source = state.explore_source() or default_source()
    if source and source.startswith("job:"):
        try:
            source = resolve_job_source(source)
            _set(source)
        except CheckpointError as exc:
            st.error(str(exc))
            return None
    return source


def describe(source: str) -> str:
    """A short name for the expander label: bundled name, repo id, or the folder's last part."""
    kind = kind_of(source)
    if kind in (BUNDLED, HUB):
        return source
    return f"{Path(source).name} ({ {UPLOAD: 'uploaded', PTH: 'imported .pth', RUNS: 'training run'}[kind]})"


def source_ui() -> str | None:
    """Draw the generator chooser; returns the source string to load (or None)."""
    current = current_source()
    label = f"Generator: {describe(current)}" if current else "Generator"
    with st.expander(label, expanded=current is None):
        kind = st.radio("Load a generator from", KINDS, index=KINDS.index(kind_of(current)), horizontal=True,
                        key="explore_kind")
        {BUNDLED: lambda: _bundled_ui(current), HUB: lambda: _hub_ui(current), UPLOAD: _upload_ui,
         PTH: _pth_ui, RUNS: _runs_ui}[kind]()
    return state.explore_source() or current


def load_ui(source: str | None) -> LoadedGenerator | None:
    """Load with a spinner (a Hub repo downloads here); failures are one short st.error."""
    if not source:
        st.warning("No generator yet: pick a bundled checkpoint, a Hub repo, upload files or train one.")
        return None
    try:
        if kind_of(source) == HUB and source not in state.value("explore_hub_ready", ()):
            update, bar = progress_bar(source)      # a download shows its bytes, not a spinner
            try:
                return load(source, progress=update)
            finally:
                bar.empty()
        with st.spinner(f"Loading {source}…"):
            return load(source)
    except CheckpointError as exc:
        st.error(f"Could not load the generator: {exc}")
        return None


def card_facts(loaded: LoadedGenerator) -> dict[str, str]:
    """The model card summary shown at the top: preset, image size, z-dim, data, steps."""
    cfg, info = loaded.config, loaded.info
    steps = info.get("steps")
    return {"Preset": cfg.preset, "Image": f"{cfg.image_size}×{cfg.image_size}×{cfg.channels}",
            "z-dim": str(cfg.z_dim), "Data": str(info.get("dataset") or "?"), "Steps": "?" if steps is None else
            str(steps)}


def card_text(loaded: LoadedGenerator) -> str:
    """README.md without its YAML header, its sample-image section (shown above it) and with headings made
    smaller (h1 -> h4), to sit inside an expander."""
    readme = loaded.path / "README.md"
    if not readme.is_file():
        return "```json\n" + json.dumps(loaded.info, indent=2) + "\n```"
    text = card_body(readme.read_text(encoding="utf-8", errors="replace"))
    out, in_code = [], False
    for ln in text.splitlines():
        in_code ^= ln.startswith("```")
        if not in_code and (ln.startswith("![") or ln.startswith("## Samples")):
            continue
        out.append("###" + ln if ln.startswith("#") and not in_code else ln)
    return "\n".join(out)
