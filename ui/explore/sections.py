"""The Explore page's sections: model card, seed grid, interpolation (lerp | slerp, animation), latent nudging,
downloads and Publish to Hub. Each `*_ui()` draws widgets and returns plain values; images come from the
cached functions in `ui.explore.images`, settings from widget keys set up through `ui.state`.
"""
from __future__ import annotations

import random

import streamlit as st

from gan_core.checkpoints.hub_checks import offline
from gan_core.checkpoints.store import CheckpointError, LoadedGenerator, push_checkpoint
from gan_core.export import gif_scale
from gan_core.latent import MAX_SEED
from gan_core.sampling import parse_seeds
from ui.explore import images as img
from ui import public, state
from ui.explore.sources import card_facts, card_text, source_key

NPY = "application/octet-stream"
MAX_GRID = 64
MAX_KEYFRAMES = 8
DEFAULTS = {"explore_seeds": "0-15", "explore_keys": "0, 1", "explore_steps": 16, "explore_psi": 1.0,
            "explore_pingpong": False, "explore_duration": 100, "explore_frame": 0, "explore_play": False, "explore_nudge_seed": 0}


def _download(where, label: str, build, file_name: str, mime: str, key: str) -> None:
    """A download whose bytes are built only when clicked (a deferred callable), with no app rerun."""
    where.download_button(label, build, file_name=file_name, mime=mime, key=key, on_click="ignore",
                          width="stretch")


def init() -> None:
    state.init_values(DEFAULTS)


def _seeds(text: str, what: str, *, limit: int) -> tuple[int, ...] | None:
    try:
        seeds = parse_seeds(text)
    except ValueError as exc:
        st.error(f"{what}: {exc}")
        return None
    if not seeds:
        st.error(f"{what}: enter at least one seed, e.g. 0-15")
        return None
    if len(seeds) > limit:
        st.error(f"{what}: at most {limit} seeds at a time (got {len(seeds)})")
        return None
    return tuple(seeds)


def card_ui(loaded: LoadedGenerator) -> None:
    if loaded.description:
        st.caption(f"Detected: **{loaded.description}**")
    cols = st.columns(5)
    for col, (label, value) in zip(cols, card_facts(loaded).items()):
        col.metric(label, value)
    with st.expander("Model card"):
        samples = loaded.path / "samples.png"
        if samples.is_file():
            st.image(str(samples), caption="samples.png (the run's fixed noise)", width=360)
        st.markdown(card_text(loaded))


def truncation_ui() -> float:
    return float(st.slider("Truncation ψ (z is scaled by ψ: lower = more typical, less varied)", 0.1, 1.0,
                           step=0.05, key="explore_psi"))


def _shuffle() -> None:
    start = random.randrange(0, 1_000_000)
    state.set_values({"explore_seeds": f"{start}-{start + 15}"})


def _use_picked() -> None:
    picked = state.value("explore_pick") or []
    if len(picked) >= 2:
        state.set_values({"explore_keys": ", ".join(map(str, picked))})


@st.fragment
def seed_grid_ui(loaded: LoadedGenerator, psi: float) -> None:
    """A fragment (like the sections below): its widgets rerun only this section, keeping interactions fast."""
    st.subheader("Seed grid")
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    text = c1.text_input("Seeds (e.g. 0-15 or 3, 7, 42)", key="explore_seeds")
    c2.button("Shuffle", key="explore_shuffle", on_click=_shuffle, width="stretch")
    seeds = _seeds(text, "Seeds", limit=MAX_GRID)
    if seeds is None:
        return
    key = source_key(loaded.source)
    frames = img.seed_frames(key, loaded, seeds, psi)
    scale = img.display_scale(loaded.config.image_size, 84)
    st.image(img.display_pngs(frames.images, scale), caption=[f"seed {s}" for s in seeds])
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    c1.multiselect("Pick keyframes from the grid (in order)", list(seeds), key="explore_pick",
                   max_selections=MAX_KEYFRAMES)
    if c2.button("Use as keyframes", key="explore_use_pick", on_click=_use_picked, width="stretch"):
        st.rerun()   # the keyframes live in the Interpolation fragment: redraw the whole page
    size = loaded.config.image_size
    d1, d2, d3 = st.columns(3)
    _download(d1, "Grid (PNG)", img.png_file(frames.images, nrow=8), f"grid_{size}px.png", "image/png",
              "dl_grid_png")
    _download(d2, "Images (ZIP of PNGs)", img.zip_file(frames.images, img.seed_names(seeds)), "seeds.zip",
              "application/zip", "dl_grid_zip")
    _download(d3, "z vectors (.npy)", img.npy_file(frames.z), "seeds_z.npy", NPY, "dl_grid_npy")


@st.fragment
def _animation(frames: dict[str, img.Frames], size: int, duration_ms: int) -> None:
    """Frame slider or play (animated GIFs); a fragment, so moving the slider reruns only this block."""
    n = len(frames["slerp"].images)
    if (state.value("explore_frame") or 0) > n - 1:
        state.set_values({"explore_frame": n - 1})
    play = st.toggle("Play", key="explore_play")
    cols = st.columns(2)
    scale = img.display_scale(size, 192)
    if play:
        for col, mode in zip(cols, ("lerp", "slerp")):
            col.image(img.gif(frames[mode].images, duration_ms=duration_ms, scale=scale), caption=mode)
        return
    k = st.slider("Frame", 0, n - 1, key="explore_frame")
    for col, mode in zip(cols, ("lerp", "slerp")):
        col.image(img.display_pngs(frames[mode].images[k:k + 1], scale)[0], caption=f"{mode}, frame {k}")


@st.fragment
def interpolation_ui(loaded: LoadedGenerator, psi: float) -> None:
    st.subheader("Interpolation")
    c1, c2, c3, c4 = st.columns([3, 2, 1, 2], vertical_alignment="bottom")
    keys = _seeds(c1.text_input("Keyframe seeds A, B (, C …)", key="explore_keys"), "Keyframes",
                  limit=MAX_KEYFRAMES)
    steps = int(c2.slider("Steps per segment (endpoints included)", 2, 64, key="explore_steps"))
    pingpong = c3.checkbox("Ping-pong", key="explore_pingpong")
    duration = int(c4.slider("GIF frame time (ms)", 20, 500, step=10, key="explore_duration"))
    if keys is None:
        return
    if len(keys) < 2:
        st.error("Keyframes: give at least two seeds, e.g. 3, 7")
        return
    key, size = source_key(loaded.source), loaded.config.image_size
    frames = {m: img.path_frames(key, loaded, keys, steps, m, pingpong, psi) for m in ("lerp", "slerp")}
    n = len(frames["lerp"].images)
    st.caption(f"{n} frames: {' → '.join(map(str, keys))}{' and back' if pingpong else ''}. lerp walks the "
               "straight line between the z vectors; slerp follows the great circle, keeping |z| typical.")
    cols = st.columns(2)
    scale = img.display_scale(size, 64)
    for col, mode in zip(cols, ("lerp", "slerp")):   # 8 frames per row: legible in half the page width
        col.markdown(f"**{mode}**")
        col.image(img.strip_png(frames[mode].images, nrow=min(n, 8), scale=scale), width="stretch")
    _animation(frames, size, duration)
    mode = st.radio("Download the path of", ("slerp", "lerp"), horizontal=True, key="explore_dl_mode")
    f = frames[mode]
    tag = "-".join(map(str, keys))
    d1, d2, d3, d4 = st.columns(4)
    _download(d1, "Strip (PNG)", img.png_file(f.images, nrow=steps), f"{mode}_{tag}.png", "image/png",
              "dl_strip_png")   # one row per segment, as `python -m gan_core interpolate --out x.png`
    _download(d2, "Frames (ZIP of PNGs)", img.zip_file(f.images, img.path_names(mode, keys, n)),
              f"{mode}_{tag}.zip", "application/zip", "dl_strip_zip")
    _download(d3, "Animation (GIF)", img.gif_file(f.images, duration_ms=duration, scale=gif_scale(size)),
              f"{mode}_{tag}.gif", "image/gif", "dl_gif")
    _download(d4, "z path (.npy)", img.npy_file(f.z), f"{mode}_{tag}_z.npy", NPY, "dl_path_npy")


def _reset_nudges(z_dim: int) -> None:
    state.set_values({f"explore_nudge_{d}": 0.0 for d in range(z_dim)})


@st.fragment
def nudge_ui(loaded: LoadedGenerator, psi: float) -> None:
    st.subheader("Latent nudging")
    z_dim = loaded.config.z_dim
    c1, c2 = st.columns([1, 3])
    seed = c1.number_input("Point (seed)", 0, MAX_SEED, key="explore_nudge_seed")
    state.init_values({"explore_nudge_dims": list(range(min(4, z_dim)))})
    dims = c2.multiselect("z dimensions to nudge", list(range(z_dim)), key="explore_nudge_dims", max_selections=8)
    state.init_values({f"explore_nudge_{d}": 0.0 for d in dims})
    left, right = st.columns([2, 1])
    with left:
        offsets = []
        for d in dims:
            delta = st.slider(f"z[{d}] offset", -3.0, 3.0, step=0.1, key=f"explore_nudge_{d}")
            if delta:
                offsets.append((int(d), float(delta)))
        st.button("Reset", key="explore_nudge_reset", on_click=_reset_nudges, args=(z_dim,))
    key = source_key(loaded.source)
    base = img.nudged_frame(key, loaded, int(seed), (), psi)
    moved = img.nudged_frame(key, loaded, int(seed), tuple(offsets), psi)
    scale = img.display_scale(loaded.config.image_size, 128)
    with right:
        a, b = st.columns(2)
        a.image(img.display_pngs(base.images, scale)[0], caption=f"seed {seed}")
        b.image(img.display_pngs(moved.images, scale)[0], caption="nudged")
        _download(b, "PNG", img.png_file(moved.images, nrow=1), f"seed_{seed}_nudged.png", "image/png",
                  "dl_nudge_png")
        _download(b, "z (.npy)", img.npy_file(moved.z), f"seed_{seed}_nudged_z.npy", NPY, "dl_nudge_npy")


PUB_TOKEN = "explore_pub_token"
PUB_TOKEN_ONCE = "explore_pub_token_once"   # public mode: the typed token, for the one script run that uses it


def _take_token() -> None:
    """Publish's on_click in public mode: move the typed token out of the widget (which is emptied, so it is
    never sent back to the browser) into a slot the publishing run reads once and clears."""
    state.set_values({PUB_TOKEN_ONCE: state.value(PUB_TOKEN) or "", PUB_TOKEN: ""})


@st.fragment
def publish_ui(loaded: LoadedGenerator) -> None:
    with st.expander("Publish to the Hugging Face Hub"):
        if loaded.format != "dcgan-studio":    # someone else's HugGAN / pytorch/examples weights, loaded as they are
            st.caption(f"This is a {loaded.description}, loaded from someone else's files: publishing is for "
                       "checkpoints trained here (Train page → Save), which carry their model card and config.")
            return
        st.caption("Uploads this checkpoint folder (config.json, model.safetensors, README.md card, samples.png) "
                   "so anyone can load it with its repo id.")
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        repo = c1.text_input("Repo id", placeholder="your-name/dcgan-digits", key="explore_pub_repo")
        private = c2.toggle("Private", value=True, key="explore_pub_private")
        own = public.limits() is not None   # public server: only the visitor's own token, typed here
        token = st.text_input("Your Hugging Face token (write access)" if own else
                              "Token (write access; empty = HF_TOKEN or your saved login)", type="password",
                              key=PUB_TOKEN)
        if own:
            public.note("hub")
        need_token = own and not (token.strip() or state.value(PUB_TOKEN_ONCE))   # (the click empties the box)
        if need_token:
            st.caption("Publish is off until you type a write token: this public server has none of its own.")
        if st.button("Publish", key="explore_publish", disabled=not repo.strip() or need_token,
                     on_click=_take_token if own else None):
            if own:
                token = state.value(PUB_TOKEN_ONCE) or ""
                state.set_values({PUB_TOKEN_ONCE: None})
            if offline():
                st.error("Publishing needs the network, and HF_HUB_OFFLINE is set: unset it and try again.")
                return
            try:
                with st.spinner(f"Uploading to {repo.strip()}…"):
                    url = push_checkpoint(loaded.path, repo.strip(), private=private, token=token.strip() or None)
            except CheckpointError as exc:   # its messages never include the token
                st.error(f"Could not publish: {exc}")
            else:
                st.success(f"Published: {url}")
