"""Three browser sessions on the Train page (three AppTests in one server process, sharing its JobManager): one run
trains, the others show their queue position; stopping hands the device on; a session never sees another's run,
a reload with the run's ?job= id reattaches, and a made-up id shows nothing. AppTest does not fire run_every, so tests poll with at.run()."""
from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest
from tests.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "train.py")


def session(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def tiny_long(at: AppTest) -> AppTest:
    at.selectbox(key="image_size").set_value(16)
    at.number_input(key="z_dim").set_value(8)
    at.number_input(key="g_width").set_value(4)
    at.number_input(key="d_width").set_value(4)
    at.select_slider(key="batch_size").set_value(8)
    at.number_input(key="max_steps").set_value(100_000)
    at.selectbox(key="device").set_value("cpu")
    return at.run()


def text(at: AppTest) -> str:
    parts = [str(p.proto.text) for p in at.get("progress")] + [i.value for i in at.info]
    return " | ".join(parts)


def poll(at: AppTest, words: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        at.run()
        assert not at.exception, at.exception
        if words in text(at):
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {words!r}: {text(at)!r}")


@pytest.fixture
def three():
    sessions = [session() for _ in range(3)]
    yield sessions
    for at in sessions:                               # leave no run behind in the shared manager
        try:
            at.run()
            if any(b.key == "stop" for b in at.button):
                at.button(key="stop").click().run()
        except Exception:
            pass


def test_three_sessions_queue_hand_on_and_stay_apart(three):
    a, b, c = three
    for at in three:
        tiny_long(at)
        at.button(key="start").click().run()
        assert not at.exception, at.exception
    poll(a, "running")
    poll(b, "queued, position 1")
    poll(c, "queued, position 2")
    # each page shows only its own run: exactly one of them trains; three distinct ids and owners
    assert sum("running" in text(at) for at in three) == 1
    assert len({at.session_state["job_id"] for at in three}) == 3
    assert len({at.session_state["owner_id"] for at in three}) == 3

    stranger = session({"job": "0" * 32})            # a made-up id in the URL: nothing to see or control
    assert [x.label for x in stranger.button] == ["Start training"] and "queued" not in text(stranger)

    reload_a = session({"job": a.session_state["job_id"]})   # A's tab reloaded: the URL's id reattaches
    assert "running" in text(reload_a) and any(x.key == "stop" for x in reload_a.button)
    assert reload_a.session_state["owner_id"] == a.session_state["owner_id"]

    a.button(key="stop").click().run()
    poll(a, "stopped")
    poll(b, "running")
    poll(c, "queued, position 1")
    c.button(key="stop").click().run()                # cancel while queued
    poll(c, "stopped")
    b.button(key="stop").click().run()
    poll(b, "stopped")
