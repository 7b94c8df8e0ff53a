"""The model card through huggingface_hub.ModelCard: Hub metadata in the YAML, settings rows from the config
dataclasses' fields, the body without its header, and one section replaced while the rest stays."""
from __future__ import annotations

import dataclasses

from huggingface_hub import ModelCard

from gan_core.checkpoints.modelcard import SCORES, card_body, model_card, score_table, set_section
from gan_core.config import ModelConfig, TrainConfig


def _info(**extra):
    return {**ModelConfig().to_dict(), "dataset": "digits", "steps": 7, "train": TrainConfig().to_dict(), **extra}


def test_card_yaml_carries_the_hub_metadata():
    data = ModelCard(model_card(_info(license="mit"))).data.to_dict()
    assert data["library_name"] == "dcgan-studio"
    assert data["pipeline_tag"] == "unconditional-image-generation"
    assert {"dcgan", "gan", "unconditional-image-generation"} <= set(data["tags"])
    assert data["license"] == "mit"
    assert "license" not in ModelCard(model_card(_info())).data.to_dict()      # unknown: left out, not guessed


def test_every_config_field_has_a_settings_row():
    card = model_card(_info())
    for f in dataclasses.fields(ModelConfig) + dataclasses.fields(TrainConfig):
        if f.name != "dataset":
            assert f"| {f.name} |" in card, f.name
    assert "- Data: `digits`" in card


def test_body_without_header_and_section_update():
    text = model_card(_info(notes="hello"))
    body = card_body(text)
    assert "library_name" not in body and body.lstrip().startswith("# dcgan on digits")
    assert card_body("---\n: [broken\n---\n# hi") .strip().endswith("# hi")      # bad YAML: still readable
    once = set_section(body, SCORES, score_table({"fid": 12.345678}))
    twice = set_section(once, SCORES, score_table({"fid": 1.5, "n": 3}))
    assert twice.count(SCORES) == 1 and "| fid | 1.5 |" in twice and "12.35" not in twice and "| n | 3 |" in twice
    assert twice.index(SCORES) < twice.index("## Notes") < twice.index("## Use")   # inserted before Notes
    assert twice.replace("\n".join([SCORES, "", *score_table({"fid": 1.5, "n": 3}), ""]) + "\n", "") == body


def test_repo_ids_follow_the_hub_rules():
    from gan_core.checkpoints.hub_checks import is_repo_id

    assert is_repo_id("user/dcgan-digits") and is_repo_id("Org.Name/model_1")
    for bad in ("dcgan", "a/b/c", "user/na..me", "-user/name", "user/name.git", "./user/name", "user/", "u" * 97 + "/b"):
        assert not is_repo_id(bad), bad
