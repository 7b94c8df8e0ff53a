"""AppTest of the Evaluate page: score a tiny checkpoint offline, the one-line Inception message, Compare runs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huggingface_hub import constants as hf_constants
from streamlit.testing.v1 import AppTest
from tests.paths import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "evaluate.py")
TIMEOUT = 180
NEW = "a folder path or Hub repo id…"


@pytest.fixture
def at(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))   # no Inception weights cached
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                        # and nothing may touch the network
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)         # (huggingface_hub reads it at import)
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, app.exception
    return app


def _score(at: AppTest, checkpoint: Path, metrics: list[str]) -> AppTest:
    at.selectbox(key="eval_source").set_value(NEW).run()
    at.text_input(key="eval_typed").input(str(checkpoint))
    at.number_input(key="eval_n").set_value(32)
    at.multiselect(key="eval_metrics").set_value(metrics)
    at.run()
    at.button(key="eval_go").click().run()
    assert not at.exception, at.exception
    return at


def test_renders_with_both_sections(at):
    assert [t.label for t in at.tabs] == ["Score a generator", "Compare runs"]
    at.selectbox(key="eval_source").set_value(NEW).run()
    assert at.button(key="eval_go").disabled  # no folder / Hub id typed yet
    assert any("at least two" in i.value for i in at.info)


def test_scores_a_checkpoint_offline_and_keeps_a_table(at, tiny_checkpoint):
    _score(at, tiny_checkpoint, ["digits"])
    assert not at.error, [e.value for e in at.error]
    labels = {m.label: m.value for m in at.metric}
    assert "Digits covered ↑" in labels and labels["Digits covered ↑"].endswith("/ 10")
    assert "Digits FD ↓" in labels
    assert any("not comparable with Inception FID" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert len(table) == 1 and table["n"].iloc[0] == 32 and "digits_fd" in table.columns
    # a second evaluation adds a row; the typed folder is now offered as a candidate
    at.number_input(key="eval_seed").set_value(1)
    at.button(key="eval_go").click().run()
    assert len(at.dataframe[0].value) == 2
    assert str(tiny_checkpoint) in at.selectbox(key="eval_source").options


def test_inception_metrics_offline_warn_in_one_line(at, tiny_checkpoint):
    _score(at, tiny_checkpoint, ["digits", "fid"])
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "offline" in warnings[0] and "\n" not in warnings[0]
    assert "Digits covered ↑" in {m.label for m in at.metric}      # the offline metric still ran
    assert "FID ↓" not in {m.label for m in at.metric}


def test_bad_checkpoint_is_a_short_error(at, tmp_path):
    _score(at, tmp_path / "nothing-here", ["digits"])
    assert len(at.error) == 1 and "Could not evaluate" in at.error[0].value


def test_compare_two_checkpoints(at, tiny_checkpoint, tmp_path):
    other = tmp_path / "tiny-copy"
    shutil.copytree(tiny_checkpoint, other)
    for ck in (tiny_checkpoint, other):
        at.text_input(key="compare_typed").input(str(ck)).run()
    assert at.multiselect(key="compare_pick").value == [str(tiny_checkpoint), str(other)]
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert len(charts) >= 3       # D(x)/D(G(z)), losses, collapse signals (diversity + digits coverage)
    assert len(at.get("imgs")) == 2 or len(at.get("image")) >= 1
    table = at.dataframe[0].value
    assert len(table) == 2 and {"lr_g", "batch_size", "history rows"} <= set(table.columns)


def test_scores_and_compares_this_sessions_runs(at, tiny_model, tiny_train, tiny_images):
    """Runs trained in this browser session are offered (by owner), scored through a temporary checkpoint, and
    compared with their live history (which has the digits coverage signal)."""
    from gan_core.data.datasets import ImageSet
    from gan_core.training.jobs import TrainingJob
    from ui.state import job_manager

    owner = "evaluate-page-test"
    jobs = [job_manager().submit(TrainingJob(tiny_model, tiny_train, owner=owner,
                                             images=ImageSet(tiny_images, name="digits"))) for _ in range(2)]
    for job in jobs:
        job.join(60)
        while job.status not in ("finished", "failed"):  # the second waits in the device queue
            job.join(1)
        assert job.status == "finished", job.error
    at.session_state["owner_id"] = owner
    at.run()
    keys = [f"job:{j.id}" for j in jobs]
    at.selectbox(key="eval_source").set_value(keys[0]).run()
    at.number_input(key="eval_n").set_value(32)
    at.multiselect(key="eval_metrics").set_value(["digits"])
    at.button(key="eval_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "this session's run" in at.dataframe[0].value["checkpoint"].iloc[0]
    at.multiselect(key="compare_pick").set_value(keys).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 4     # the share chart + three compare charts
    table = at.dataframe[1].value
    assert len(table) == 2 and table["digits_coverage"].notna().iloc[0]  # the evaluated run carries its score
