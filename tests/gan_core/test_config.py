"""Config bounds give messages a person can act on; presets apply their published defaults."""
import pytest

from gan_core.config import ConfigError, ModelConfig, TrainConfig, preset_defaults, with_preset


@pytest.mark.parametrize("field,value,words", [
    ("z_dim", 1, "z_dim must be in [2, 1024]"),
    ("z_dim", 2000, "z_dim must be in [2, 1024]"),
    ("g_width", 3, "g_width"),
    ("d_width", 5000, "d_width"),
    ("image_size", 48, "image_size must be one of 16, 28, 32, 64, 128"),
    ("channels", 2, "channels must be 1 (greyscale) or 3 (colour)"),
    ("preset", "stylegan", "preset must be one of dcgan, roadsign, improved, upsample"),
    ("z_dim", 1.5, "whole number"),
])
def test_model_config_rejects_out_of_bounds(field, value, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        ModelConfig(**{field: value}).validate()


@pytest.mark.parametrize("field,value", [
    ("lr_g", 0.0), ("lr_d", 1.5), ("lr_g", float("nan")), ("epochs", 0), ("batch_size", 0), ("g_steps", 0),
    ("label_smoothing", 0.9), ("device", "tpu"), ("beta1", 1.0), ("dataset", " "),
])
def test_train_config_rejects_out_of_bounds(field, value):
    with pytest.raises(ConfigError, match=field if field != "dataset" else "dataset"):
        TrainConfig(**{field: value}).validate()


def test_learning_rate_upper_bound_is_inclusive():
    assert TrainConfig(lr_g=1.0, lr_d=1.0).validate().lr_g == 1.0


def test_presets_apply_defaults_and_overrides_win():
    m, t = with_preset("improved")
    assert t.lr_g == pytest.approx(2 * t.lr_d) and t.g_steps == 2
    m, t = with_preset("roadsign")
    assert (m.z_dim, m.image_size, m.channels, t.lr_g) == (32, 32, 3, 1e-3)
    m, t = with_preset("upsample", model={"image_size": 32}, train={"batch_size": 16})
    assert (m.z_dim, m.image_size, m.channels, t.batch_size) == (128, 32, 3, 16)
    assert preset_defaults("dcgan").summary


def test_from_dict_ignores_unknown_keys_and_requires_shape_keys():
    cfg = ModelConfig.from_dict({"image_size": 16, "channels": 1, "z_dim": 8, "steps": 5, "train": {}})
    assert cfg.image_size == 16
    with pytest.raises(ConfigError, match="missing"):
        ModelConfig.from_dict({"preset": "dcgan"})
