"""The only module that touches `st.session_state` keys and `st.query_params`.

A browser session gets an owner id (random, per session); its training job's id lives in the session and in
the URL (`?job=`), so a reload reattaches. The JobManager is one per process (`st.cache_resource`).
"""
from __future__ import annotations

import uuid

import streamlit as st

from gan_core.jobs import JobManager, TrainingJob

OWNER = "owner_id"
JOB = "job_id"
EXPLORE_SOURCE = "explore_source"   # what Explore should open: a bundled name, folder, repo id, or "job:<id>"


@st.cache_resource
def job_manager() -> JobManager:
    return JobManager()


def owner_id() -> str:
    """This browser session's owner token. A reload with ?job= in the URL adopts that job's owner."""
    if OWNER not in st.session_state:
        st.session_state[OWNER] = uuid.uuid4().hex
        job_id = st.query_params.get("job")
        job = job_manager().get(job_id) if job_id else None
        if job is not None:  # the id is an unguessable capability: holding it means it is yours
            st.session_state[OWNER] = job.owner
            st.session_state[JOB] = job.id
    return st.session_state[OWNER]


def current_job() -> TrainingJob | None:
    owner = owner_id()
    job = job_manager().get(st.session_state.get(JOB), owner=owner)
    return job


def set_current_job(job: TrainingJob | None) -> None:
    if job is None:
        st.session_state.pop(JOB, None)
        st.query_params.pop("job", None)
    else:
        st.session_state[JOB] = job.id
        st.query_params["job"] = job.id


def session_jobs() -> list[TrainingJob]:
    """Every job this session started (newest last): Explore and Evaluate offer their generators."""
    return job_manager().jobs_of(owner_id())


def explore_source() -> str | None:
    return st.session_state.get(EXPLORE_SOURCE)


def set_explore_source(source: str) -> None:
    st.session_state[EXPLORE_SOURCE] = source
