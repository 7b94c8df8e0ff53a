"""The Train page's "Run this on more machines": the current settings as `torchrun` commands and as run.json.

The commands and the file come from gan_core.cli.launch, which derives every flag from the config dataclass
fields, so what is shown here is what the CLI parses back (tests/gan_core/test_cli_launch.py). The page only
adds what a cluster needs to know and the app does not: where the images are there, where to write, how many
GPUs and machines, and the first machine's address for the rendezvous.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import streamlit as st

from gan_core.cli.launch import DEFAULT_PORT, run_file, shell_command, torchrun_argv, torchrun_command
from gan_core.config import ConfigError, ModelConfig, TrainConfig

PLACEHOLDER_DATA = "/path/to/images"


def _data_default(kind: str, detail: object) -> str:
    """Where the cluster finds the images: built-in names as they are, this machine's folder path, else a path
    to fill in (an upload lives only in this browser session)."""
    if kind == "folder" and detail:
        return str(detail)
    return PLACEHOLDER_DATA if kind in ("upload", "folder") else kind


OPEN = "handover_open"   # the expander's open state (session state), tracked so its content is drawn only when open


def handover_ui(model: ModelConfig | None, train: TrainConfig | None, *, kind: str, detail: object) -> None:
    """Draw the hand-over expander for the settings above (nothing to hand over while they are invalid). Its
    content runs only while it is open: its three code blocks load the browser's syntax highlighter, seconds of
    a small CPU that would otherwise sit on every first paint of the page (BENCHMARKS.md, "First paint")."""
    box = st.expander("Run this on more machines", icon=":material/lan:", key=OPEN, on_change="rerun")
    if not box.open:
        return
    with box:
        if model is None or train is None:
            st.info("Fix the settings above to get the command.")
            return
        st.caption("The same training, headless, with PyTorch's `torchrun` and DistributedDataParallel: one process "
                   "per GPU, each on its own shard of the data; rank 0 writes the checkpoint folder, which then "
                   "loads in Explore (or push it to the Hub with `python -m gan_core push`).")
        c1, c2, c3 = st.columns(3)
        gpus = int(c1.number_input("GPUs per machine", 1, 64, value=8, step=1, key="handover_gpus"))
        nodes = int(c2.number_input("Machines (nodes)", 2, 1024, value=2, step=1, key="handover_nodes"))
        endpoint = c3.text_input("First machine's address", value=f"node0:{DEFAULT_PORT}", key="handover_endpoint",
                                 help="host:port every machine can reach; torchrun's c10d rendezvous meets there.")
        c1, c2 = st.columns(2)
        data = c1.text_input("Images on the cluster", value=_data_default(kind, detail), key=f"handover_data_{kind}",
                             help="Built-in names download there; a folder or .zip must be copied there first.")
        name = Path(data.rstrip("/")).stem or "run"
        out = c2.text_input("Output folder", value=f"runs/{model.preset}-{name}", key="handover_out")
        sync_bn = st.toggle("Synchronised BatchNorm (--sync-bn)", value=False, key="handover_sync_bn",
                            help="BatchNorm statistics over the global batch instead of each GPU's own batch.")
        try:
            cluster = dataclasses.replace(train, dataset=data.strip(), device="cuda", sync_bn=sync_bn).validate()
            if not out.strip():
                raise ConfigError("the output folder must not be empty")
            one = torchrun_command(model, cluster, out=out.strip(), nproc_per_node=gpus)
            many = torchrun_command(model, cluster, out=out.strip(), nproc_per_node=gpus, nnodes=nodes,
                                    endpoint=endpoint.strip())
        except ConfigError as exc:
            st.error(f"Cannot build the command: {exc}")
            return
        b = cluster.batch_size
        st.markdown(f"Batch size {b} is **per GPU**: {gpus} GPUs train on {gpus * b} images per step "
                    f"({nodes * gpus * b} on {nodes} machines). Learning rates are used as set.")
        st.markdown(f"**One machine, {gpus} GPUs**")
        st.code(one, language="bash")
        st.markdown(f"**{nodes} machines × {gpus} GPUs** — run the same command on every machine")
        st.code(many, language="bash")
        st.markdown("**Or with the settings file** (flags given after `--config` win):")
        st.code(shell_command(torchrun_argv(nproc_per_node=gpus) + ["-m", "gan_core", "train", "--config", "run.json",
                                                                    "--out", out.strip()]), language="bash")
        st.download_button("Download settings (run.json)", run_file(model, cluster), file_name="run.json",
                           mime="application/json", key="handover_download", icon=":material/download:")
