"""Checkpoints: Hub layout, mixin loading, strict loads, atomic saves, resume."""
import json

import pytest
import torch
from safetensors.torch import save_file

from gan_core.checkpoints.store import CheckpointError, load_generator, save_checkpoint
from gan_core.models import Generator
from gan_core.training.resume import read_resume_point
from gan_core.training.run import Run
from gan_core.sampling import images_from_seeds
from gan_core.training.trainer import Trainer


def test_hub_layout_and_model_card(tiny_checkpoint):
    names = sorted(p.name for p in tiny_checkpoint.iterdir())
    assert names == ["README.md", "config.json", "model.safetensors", "samples.png", "training"]
    info = json.loads((tiny_checkpoint / "config.json").read_text())
    assert (info["preset"], info["image_size"], info["z_dim"], info["steps"], info["dataset"]) == \
        ("dcgan", 16, 8, 3, "digits")
    card = (tiny_checkpoint / "README.md").read_text()
    for words in ("Data: `digits`", "Steps: 3", "| z_dim | 8 |", "| lr_g |", "pytest tiny", "![samples](samples.png)"):
        assert words in card
    assert not list(tiny_checkpoint.parent.glob(".tiny.*"))     # no temp folders left behind


def test_mixin_from_pretrained_equals_our_loader(tiny_checkpoint):
    g = Generator.from_pretrained(str(tiny_checkpoint))
    ours = load_generator(str(tiny_checkpoint)).generator
    assert torch.equal(images_from_seeds(g, [1, 2, 3]), images_from_seeds(ours, [1, 2, 3]))


def test_same_seed_same_image_regardless_of_batch(tiny_checkpoint):
    g = load_generator(str(tiny_checkpoint)).generator
    batch = images_from_seeds(g, [5, 6, 7])
    assert torch.equal(batch[1], images_from_seeds(g, [6])[0])


def test_missing_and_malformed_config(tmp_path, tiny_checkpoint):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_generator(str(tmp_path / "empty"))
    (tiny_checkpoint / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_generator(str(tiny_checkpoint))
    (tiny_checkpoint / "config.json").write_text(json.dumps({"image_size": 16, "channels": 1, "z_dim": 10**9}))
    with pytest.raises(CheckpointError, match="z_dim must be in"):
        load_generator(str(tiny_checkpoint))


def test_shape_mismatch_is_refused(tiny_checkpoint):
    cfg = json.loads((tiny_checkpoint / "config.json").read_text())
    cfg["g_width"] = 8
    (tiny_checkpoint / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="do not match config.json.*shape"):
        load_generator(str(tiny_checkpoint))
    save_file({"x": torch.zeros(1)}, str(tiny_checkpoint / "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing"):
        load_generator(str(tiny_checkpoint))


def test_unknown_source_message():
    with pytest.raises(CheckpointError, match="not a folder, a bundled name"):
        load_generator("./no/such/folder")


def test_resave_replaces_atomically(tiny_checkpoint, tiny_model):
    g = Generator(tiny_model)
    save_checkpoint(tiny_checkpoint, generator=g, model_cfg=tiny_model, steps=9)
    assert json.loads((tiny_checkpoint / "config.json").read_text())["steps"] == 9
    assert not (tiny_checkpoint / "training").exists()
    assert [p.name for p in tiny_checkpoint.parent.iterdir()] == ["tiny"]


@pytest.mark.parametrize("recipe", [
    {"ema_decay": 0.0},
    {"ema_decay": 0.9, "augment": "ada", "spectral_norm": True, "loss": "hinge"},
    {"ema_decay": 0.99, "augment": "translation,cutout,color", "loss": "ls"},
])
def test_resume_continues_exactly(tiny_model, tiny_train, tiny_images, tmp_path, recipe):
    """3 steps + save + resume + 2 steps == 5 uninterrupted steps (CPU, same seed), with the recipe's EMA,
    augmentation RNG / ada p and spectral norm's u, v in the resume state."""
    from gan_core.config import TrainConfig
    cfg = TrainConfig(**{**tiny_train.to_dict(), "max_steps": 5, **recipe})
    straight = Run(Trainer(tiny_model, cfg, images=tiny_images))
    while not straight.done:
        straight.advance()
    first = Run(Trainer(tiny_model, cfg, images=tiny_images))
    for _ in range(3):
        first.advance()
    path = first.save(tmp_path / "r")
    point = read_resume_point(path)
    assert point.configs() == (tiny_model, cfg)                       # the checkpoint's settings come back
    second = Run(Trainer(*point.configs(), images=tiny_images))
    second.resume(point)
    assert second.trainer.step_count == 3 and len(second.history) == 3
    while not second.done:
        second.advance()
    a = [r["loss_d"] for r in straight.history]
    b = [r["loss_d"] for r in second.history]
    assert b == a                                            # bit-identical continuation
    assert all(torch.equal(x, y) for x, y in zip(straight.trainer.G.state_dict().values(),
                                                 second.trainer.G.state_dict().values()))
    assert [r["aug_p"] for r in second.history] == [r["aug_p"] for r in straight.history]
    if cfg.ema_decay:
        assert all(torch.equal(x, y) for x, y in zip(straight.trainer.ema.state_dict().values(),
                                                     second.trainer.ema.state_dict().values()))
        assert straight.grids[-1].png == second.grids[-1].png          # the grid is drawn by the EMA copy
