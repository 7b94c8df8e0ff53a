"""Explore's Hugging Face Hub source: a repo id box (`user/name`, a revision, an optional file) and a Hub browser.

The browser searches models by text and tags (`HfApi.list_models` through gan_core.checkpoints.hub) and lists id,
likes, downloads, last modified and the repo's sample image; "Load" downloads what the repo's format needs with a
byte progress bar (huggingface_hub's per-chunk tqdm hook -> st.progress), then switches the page to it. Offline,
search says so in one line; the other sources keep working. Loading goes through the callables the chooser
passes in (`load(source, progress)` and `choose(source)`), so this module does not import the chooser.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from gan_core.checkpoints.hub import (OFFLINE_SEARCH, SEARCH_TAGS, HubModel, HubUnavailable, hub_offline,
                                      parse_hub_source, sample_image, search_models)
from gan_core.checkpoints.store import CheckpointError
from ui import state

Loader = Callable[..., object]
RESULTS = 12


@st.cache_data(ttl=300, show_spinner=False, max_entries=32)
def _search(text: str, tags: tuple[str, ...]) -> list[HubModel]:
    return search_models(text, tags=tags, limit=RESULTS)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=64)
def _image(repo_id: str, filename: str) -> bytes | None:
    return sample_image(HubModel(repo_id, image=filename))


def progress_bar(source: str) -> tuple[Callable[[int, int, str], None], object]:
    """st.progress driven by the bytes huggingface_hub reports while it downloads each file."""
    bar = st.progress(0.0, text=f"Contacting the Hub for {source}…")

    def update(done: int, total: int, name: str) -> None:
        frac = min(done / total, 1.0) if total else 0.0
        mb = f"{done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        bar.progress(frac, text=f"Downloading {name}: {mb}")

    return update, bar


def load_from_hub(source: str, *, load: Loader, choose: Callable[[str], None]) -> None:
    """Download + check `source` with a progress bar; switch to it only when it loaded (a failure keeps the
    current generator on screen and says why in one st.error)."""
    update, bar = progress_bar(source)
    try:
        loaded = load(source, progress=update)
    except CheckpointError as exc:
        bar.empty()
        st.error(f"Could not load {source}: {exc}")
        return
    bar.empty()
    ready = tuple(state.value("explore_hub_ready", ()))[-20:] + (source,)    # downloaded: later reruns skip the bar
    state.set_values({"explore_hub_loaded": f"Loaded {source}: {getattr(loaded, 'description', '')}",
                      "explore_hub_ready": ready})
    choose(source)
    st.rerun()


def _repo_box(current: str | None, *, load: Loader, choose: Callable[[str], None]) -> None:
    repo_default, rev_default = "", ""
    ref = parse_hub_source(current) if current else None
    if ref is not None:
        repo_default = ref.repo_id + (f":{ref.filename}" if ref.filename else "")
        rev_default = ref.revision or ""
    c1, c2 = st.columns([3, 1])
    repo = c1.text_input("Repo id", value=repo_default, placeholder="user/name  or  user/name:netG_epoch_10.pth",
                         key="explore_repo", help="A DCGAN Studio checkpoint, a HugGAN DCGAN (PyTorchModelHubMixin) "
                         "or a pytorch/examples repo of netG_epoch_N.pth files (the highest epoch unless you name "
                         "one).")
    rev = c2.text_input("Revision (optional)", value=rev_default, placeholder="main", key="explore_rev")
    if st.button("Load from the Hub", key="explore_load_hub"):
        name, _, file = repo.strip().partition(":")
        if "/" not in name:
            st.error("Enter a Hub repo id like user/name.")
            return
        load_from_hub(name + (f"@{rev.strip()}" if rev.strip() else "") + (f":{file}" if file else ""),
                      load=load, choose=choose)


def _result_row(model: HubModel, *, load: Loader, choose: Callable[[str], None]) -> None:
    with st.container(border=True):
        c1, c2, c3 = st.columns([1, 4, 1], vertical_alignment="center")
        picture = _image(model.id, model.image) if model.image else None
        if picture:
            c1.image(picture, width=96)
        else:
            c1.caption("no sample image")
        when = model.last_modified.strftime("%Y-%m-%d") if model.last_modified else "?"
        c2.markdown(f"**{model.id}**  \n♥ {model.likes:,} · ⬇ {model.downloads:,} · updated {when}")
        shown = [t for t in model.tags if t in SEARCH_TAGS or t in ("unconditional-image-generation", "pytorch")]
        if shown:
            c2.caption(" · ".join(shown))
        if c3.button("Load", key=f"explore_hub_load_{model.id}"):
            load_from_hub(model.id, load=load, choose=choose)


def browser_ui(*, load: Loader, choose: Callable[[str], None]) -> None:
    """Search the Hub by text and tags; each result loads with one click."""
    with st.form("explore_hub_search", border=False):
        c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
        c1.text_input("Search the Hub", placeholder="e.g. faces, pokemon, mnist", key="explore_hub_text")
        c2.multiselect("Tags (any of)", SEARCH_TAGS, default=list(SEARCH_TAGS), key="explore_hub_tags")
        searched = c3.form_submit_button("Search", use_container_width=True)
    if searched:
        state.set_values({"explore_hub_query": (state.value("explore_hub_text", "").strip(),
                                                tuple(state.value("explore_hub_tags", SEARCH_TAGS)))})
    query = state.value("explore_hub_query")
    if query is None:
        st.caption("Search for DCGANs people published (tags dcgan, gan, huggan), or type a repo id above.")
        return
    if hub_offline():                  # before the cache: results from earlier would not load now
        st.warning(f"Hub search unavailable: {OFFLINE_SEARCH}.")
        return
    try:
        found = _search(*query)
    except HubUnavailable as exc:
        st.warning(f"Hub search unavailable: {exc}.")
        return
    except CheckpointError as exc:
        st.error(str(exc))
        return
    if not found:
        st.info(f"No models on the Hub match {query[0]!r} with tags {', '.join(query[1]) or 'any'}.")
        return
    st.caption(f"{len(found)} models, most downloaded first")
    for model in found:
        _result_row(model, load=load, choose=choose)


def hub_ui(current: str | None, *, load: Loader, choose: Callable[[str], None]) -> None:
    """The whole Hub source: what was just loaded, the repo id box, then the browser."""
    note = state.value("explore_hub_loaded")
    if note:
        st.success(note)
        state.set_values({"explore_hub_loaded": None})
    _repo_box(current, load=load, choose=choose)
    st.divider()
    browser_ui(load=load, choose=choose)
