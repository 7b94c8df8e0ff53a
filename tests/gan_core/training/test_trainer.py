"""The trainer: metrics per step, determinism on the CPU, label smoothing, G:D ratio, the divergence guard."""
import math

import pytest
import torch

from gan_core.config import ConfigError, TrainConfig
from gan_core.training.run import Run
from gan_core.training.trainer import METRIC_NAMES, Trainer, TrainingDiverged, sample_diversity
from gan_core.training.devices import resolve_device


def _run(model, train, images, steps):
    run = Run(Trainer(model, train, images=images))
    for _ in range(steps):
        run.advance()
    run.flush()
    return run


def test_metrics_rows_have_every_field_and_probabilities(tiny_model, tiny_train, tiny_images):
    run = _run(tiny_model, tiny_train, tiny_images, 3)
    assert [r["step"] for r in run.history] == [1, 2, 3]
    for r in run.history:
        assert set(METRIC_NAMES) <= set(r) and r["images_per_s"] > 0
        for k in ("d_real", "d_fake_before", "d_fake_after"):
            assert 0.0 <= r[k] <= 1.0
        assert r["loss_d"] > 0 and r["loss_g"] > 0


def test_seeded_runs_are_identical_on_cpu(tiny_model, tiny_train, tiny_images):
    a = _run(tiny_model, tiny_train, tiny_images, 3)
    b = _run(tiny_model, tiny_train, tiny_images, 3)
    strip = lambda h: [{k: v for k, v in r.items() if k != "images_per_s"} for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)
    assert a.grids[-1].png == b.grids[-1].png
    c = _run(tiny_model, TrainConfig(**{**tiny_train.to_dict(), "seed": 1}), tiny_images, 3)
    assert strip(c.history) != strip(a.history)


def test_d_update_lowers_d_of_fakes(tiny_model, tiny_images):
    """D(G(z)) after the D update (D_G_z2) sits below D(G(z)) before it (D_G_z1) on average: D learned to
    reject fakes."""
    cfg = TrainConfig(max_steps=20, batch_size=16, lr_d=5e-3, lr_g=1e-5, device="cpu", metrics_every=5)
    run = _run(tiny_model, cfg, tiny_images, 20)
    before = sum(r["d_fake_before"] for r in run.history[5:])
    after = sum(r["d_fake_after"] for r in run.history[5:])
    assert after < before


def test_g_steps_ratio_and_epochs(tiny_model, tiny_images):
    cfg = TrainConfig(epochs=2, batch_size=16, g_steps=2, device="cpu")
    t = Trainer(tiny_model, cfg, images=tiny_images)
    assert t.steps_per_epoch == 4 and t.total_steps == 8
    ends = [t.step().epoch_end for _ in range(8)]
    assert ends == [False, False, False, True] * 2 and t.epoch == 2
    # two Adam steps of G per training step
    assert t.opt_g.state[next(iter(t.G.parameters()))]["step"].item() == 16
    assert t.opt_d.state[next(iter(t.D.parameters()))]["step"].item() == 8


def test_label_smoothing_changes_d_loss(tiny_model, tiny_train, tiny_images):
    plain = _run(tiny_model, tiny_train, tiny_images, 1).history[0]["loss_d"]
    smooth_cfg = TrainConfig(**{**tiny_train.to_dict(), "label_smoothing": 0.2})
    smooth = _run(tiny_model, smooth_cfg, tiny_images, 1).history[0]["loss_d"]
    assert smooth != pytest.approx(plain)


def test_fixed_noise_grid_every_n_steps_and_epoch_end(tiny_model, tiny_images):
    cfg = TrainConfig(epochs=1, batch_size=16, sample_every=3, device="cpu")   # 4 steps per epoch
    run = _run(tiny_model, cfg, tiny_images, 4)
    assert [g.step for g in run.grids] == [1, 3, 4]
    # each grid's collapse signal sits in its step's row, present from the moment the row is appended
    assert [r["step"] for r in run.history if "diversity" in r] == [1, 3, 4]
    assert run.grids[-1].png.startswith(b"\x89PNG")
    assert 0 < run.grids[-1].diversity


def test_divergence_stops_naming_the_step_and_restores_last_good(tiny_model, tiny_train, tiny_images):
    run = Run(Trainer(tiny_model, tiny_train, images=tiny_images))
    run.advance()
    good = {k: v.clone() for k, v in run.trainer.G.state_dict().items()}
    with torch.no_grad():  # poison D so every loss is NaN from the next step on
        next(run.trainer.D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="diverged at step 2.*step 1 were kept") as err:
        run.advance()
    assert err.value.step == 2 and err.value.last_good_step == 1
    for k, v in run.trainer.G.state_dict().items():
        assert torch.equal(v, good[k]) or (k.endswith("num_batches_tracked"))
    assert all(math.isfinite(p.sum().item()) for p in run.trainer.D.parameters())


def test_collapse_signal_is_zero_for_identical_samples():
    same = torch.full((8, 1, 16, 16), 100, dtype=torch.uint8)
    varied = torch.randint(0, 255, (8, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert sample_diversity(same) == 0.0 < sample_diversity(varied)


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_images_must_match_model(tiny_model, tiny_train):
    with pytest.raises(ConfigError, match="expects"):
        Trainer(tiny_model, tiny_train, images=torch.zeros(8, 3, 16, 16, dtype=torch.uint8))
