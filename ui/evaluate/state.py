"""Evaluate page session keys (the only place the Evaluate page touches `st.session_state`).

The table of evaluated checkpoints lives here as a list of plain dict rows (one per evaluation, newest last), with
the last full result for the detail view and the folder/Hub ids a user typed, so Compare can offer them.
"""
from __future__ import annotations

import streamlit as st

ROWS = "eval_rows"          # [{"checkpoint": label, "source": key, "dataset": ..., "n": ..., metric: value, ...}]
LAST = "eval_last"          # {"label": ..., "values": {...}, "unavailable": {...}, "details": {...}}
TYPED = "eval_typed_sources"  # folder paths / Hub ids entered on this page (ordered, unique)
MAX_ROWS = 200


def rows() -> list[dict]:
    return st.session_state.get(ROWS, [])


def add_row(row: dict) -> None:
    table = st.session_state.setdefault(ROWS, [])
    table.append(row)
    del table[:-MAX_ROWS]


def clear_rows() -> None:
    st.session_state[ROWS] = []
    st.session_state.pop(LAST, None)


def last() -> dict | None:
    return st.session_state.get(LAST)


def set_last(result: dict) -> None:
    st.session_state[LAST] = result


def typed_sources() -> list[str]:
    return st.session_state.get(TYPED, [])


def remember_typed(source: str) -> None:
    typed = st.session_state.setdefault(TYPED, [])
    if source and source not in typed:
        typed.append(source)


def scores_for(source: str) -> dict:
    """The latest evaluated metrics of a source (empty if it was never evaluated in this session)."""
    for row in reversed(rows()):
        if row.get("source") == source:
            return {k: v for k, v in row.items() if k not in ("checkpoint", "source")}
    return {}
