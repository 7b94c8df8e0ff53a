"""The small-data recipe: losses on fixed logits, differentiable augmentation and ADA's p, generator EMA (weights
and BatchNorm buffers, divergence guard, what is saved), spectral norm (sigma ~ 1, CPU kernels kept), bad values."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from gan_core.config import ConfigError, TrainConfig
from gan_core.training import augment, losses
from gan_core.training.run import Run
from gan_core.training.trainer import Trainer, TrainingDiverged

R = torch.tensor([2.0, -1.0, 0.5, 0.0])     # fixed real logits
FK = torch.tensor([-1.5, 0.3, 1.0, -0.2])   # fixed fake logits


def _cfg(tiny_train: TrainConfig, **kw) -> TrainConfig:
    return dataclasses.replace(tiny_train, **kw).validate()


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_losses_match_their_formulas(smoothing):
    t = 1 - smoothing
    sig = torch.sigmoid
    bce_d = -(t * sig(R).log() + (1 - t) * (1 - sig(R)).log()).mean() - (1 - sig(FK)).log().mean()
    assert losses.d_loss("bce", R, FK, real_target=t) == pytest.approx(bce_d.item(), abs=1e-6)
    assert losses.g_loss("bce", FK) == pytest.approx(-sig(FK).log().mean().item(), abs=1e-6)
    hinge_d = torch.clamp(1 - R, min=0).mean() + torch.clamp(1 + FK, min=0).mean()
    assert losses.d_loss("hinge", R, FK) == pytest.approx(hinge_d.item(), abs=1e-6)
    assert losses.g_loss("hinge", FK) == pytest.approx(-FK.mean().item(), abs=1e-6)
    ls_d = 0.5 * ((R - t) ** 2).mean() + 0.5 * (FK ** 2).mean()
    assert losses.d_loss("ls", R, FK, real_target=t) == pytest.approx(ls_d.item(), abs=1e-6)
    assert losses.g_loss("ls", FK) == pytest.approx((0.5 * (FK - 1) ** 2).mean().item(), abs=1e-6)


def test_losses_are_float32_under_bf16_logits():
    for kind in ("bce", "hinge", "ls"):
        assert losses.d_loss(kind, R.bfloat16(), FK.bfloat16()).dtype == torch.float32
        assert losses.g_loss(kind, FK.bfloat16()).dtype == torch.float32


def test_each_augmentation_is_differentiable_and_off_is_identity():
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    for op in ("translation", "cutout", "color"):
        aug = augment.Augmenter((op,), seed=1)
        y = aug(x)
        assert y.shape == x.shape and not torch.equal(y, x)
        (g,) = torch.autograd.grad((y * torch.randn_like(y)).sum(), x)
        assert torch.isfinite(g).all() and g.abs().sum() > 0
    off = augment.Augmenter(())
    assert off(x) is x and not off.enabled and off.p.item() == 0


def test_translation_shifts_each_sample_within_an_eighth_with_zero_fill():
    x = torch.arange(1, 1 + 4 * 16 * 16, dtype=torch.float32).view(4, 1, 16, 16)   # all pixels distinct, nonzero
    y = augment.translation(x, torch.Generator().manual_seed(3))
    for i in range(4):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = torch.zeros(16, 16)
                src = x[i, 0, max(-dy, 0):16 - max(dy, 0), max(-dx, 0):16 - max(dx, 0)]
                shifted[max(dy, 0):16 - max(-dy, 0), max(dx, 0):16 - max(-dx, 0)] = src
                matches.append(torch.equal(y[i, 0], shifted))
        assert sum(matches) == 1


def test_cutout_zeroes_at_most_a_half_side_square():
    x = torch.ones(8, 1, 16, 16)
    y = augment.cutout(x, torch.Generator().manual_seed(0))
    zeros = (y == 0).sum((1, 2, 3))
    assert (zeros <= 64).all() and (zeros > 0).all()


def test_gradients_reach_g_through_the_augmentation(tiny_model, tiny_train, tiny_images):
    t = Trainer(tiny_model, _cfg(tiny_train, augment="translation,cutout"), images=tiny_images)
    fake = t.G(torch.randn(8, tiny_model.z_dim))
    losses.g_loss("bce", t.D(t.augment(fake))).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in t.G.parameters())


def test_ada_p_rises_when_d_is_sure_of_the_real_images_and_stays_in_0_1():
    aug = augment.Augmenter(("translation",), adaptive=True, target=0.6)
    assert aug.p.item() == 0
    for _ in range(8):                                    # r_t = 1 > 0.6: two updates of +4*B/speed
        aug.observe(torch.ones(64))
    assert aug.p.item() == pytest.approx(2 * 4 * 64 / augment.ADA_SPEED_IMAGES)
    for _ in range(400):                                  # r_t = -1 < 0.6: down, clamped at 0
        aug.observe(-torch.ones(64))
    assert aug.p.item() == 0
    x = torch.randn(4, 1, 8, 8)
    assert torch.equal(aug(x), x)                         # p = 0: every sample passes through unchanged


def test_ema_equals_a_hand_computed_average_after_3_steps(tiny_model, tiny_train, tiny_images):
    decay = 0.9
    t = Trainer(tiny_model, _cfg(tiny_train, ema_decay=decay), images=tiny_images)
    expected = None
    for step in range(3):
        t.step()
        g = {k: v.detach().clone() for k, v in t.G.state_dict().items() if v.is_floating_point()}
        if expected is None:
            expected = g                                  # the first update copies G
        else:                                             # warm-up decay at that step: min(d, (1+t)/(10+t))
            d = min(decay, (1 + step) / (10 + step))
            expected = {k: expected[k] * d + g[k] * (1 - d) for k in g}
    ema = t.ema.module.state_dict()
    bn_buffers = [k for k in expected if "running_" in k]
    assert bn_buffers                                     # BatchNorm running stats are averaged too
    for k, v in expected.items():
        assert torch.allclose(ema[k], v, atol=1e-6), k
    assert not torch.allclose(ema[bn_buffers[0]], t.G.state_dict()[bn_buffers[0]])   # and differ from G's
    assert t.sample_generator is t.ema.module


def test_ema_decay_warms_up(tiny_model, tiny_train, tiny_images):
    t = Trainer(tiny_model, _cfg(tiny_train, ema_decay=0.999), images=tiny_images)
    t.step_count = 0
    assert t.ema_decay_now() == pytest.approx(0.1)
    t.step_count = 10_000
    assert t.ema_decay_now() == 0.999


def test_divergence_guard_restores_the_ema_too(tiny_model, tiny_train, tiny_images):
    run = Run(Trainer(tiny_model, _cfg(tiny_train, ema_decay=0.9), images=tiny_images))
    run.advance()
    good = {k: v.clone() for k, v in run.trainer.ema.state_dict().items()}
    with torch.no_grad():
        next(run.trainer.D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged):
        run.advance()
    for k, v in run.trainer.ema.state_dict().items():
        assert torch.equal(v, good[k]), k


def test_saved_weights_are_the_ema_generator_and_say_so(tiny_model, tiny_train, tiny_images, tmp_path):
    from safetensors.torch import load_file

    run = Run(Trainer(tiny_model, _cfg(tiny_train, ema_decay=0.9), images=tiny_images))
    while not run.done:
        run.advance()
    path = run.save(tmp_path / "ema")
    saved = load_file(str(path / "model.safetensors"))
    for k, v in run.trainer.ema.module.state_dict().items():
        assert torch.equal(saved[k], v.contiguous()), k
    assert any(not torch.equal(saved[k], v.contiguous()) for k, v in run.trainer.G.state_dict().items()
               if v.is_floating_point())
    info = json.loads((path / "config.json").read_text())
    assert info["generator_weights"] == "ema" and info["ema_decay"] == 0.9 and info["train"]["ema_decay"] == 0.9
    assert "moving average (EMA) of the generator, decay 0.9" in (path / "README.md").read_text()


def test_spectral_norm_keeps_the_largest_singular_value_near_1(tiny_model, tiny_train, tiny_images):
    t = Trainer(tiny_model, _cfg(tiny_train, spectral_norm=True), images=tiny_images)
    with torch.no_grad():
        for _ in range(30):                               # power iteration: one step per training-mode forward
            t.D(torch.randn(8, 1, 16, 16).to(memory_format=torch.channels_last))
    convs = [m for m in t.D.modules() if hasattr(m, "parametrizations")]
    assert len(convs) == 3                               # 16 px: two strided convs + the last
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05)
        raw = torch.linalg.matrix_norm(m.parametrizations.weight.original.detach().flatten(1), ord=2).item()
        assert not math.isclose(raw, 1.0, abs_tol=0.05)   # it is the parametrisation doing it


def test_spectral_norm_keeps_the_fast_cpu_kernels_and_trains_like_plain_layers(tiny_model, tiny_train, tiny_images):
    cfg = _cfg(tiny_train, spectral_norm=True, seed=3)
    fast = Trainer(tiny_model, cfg, images=tiny_images, device=torch.device("cpu"))
    plain = Trainer(tiny_model, cfg, images=tiny_images, device=torch.device("cpu"), fast_cpu_kernels=False)
    assert fast.fast_cpu_layers == 6 and plain.fast_cpu_layers == 0
    for _ in range(3):
        a, b = fast.step().values, plain.step().values
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-4), (a, b)


@pytest.mark.parametrize("field,value,words", [
    ("ema_decay", 1.5, "ema_decay must be in [0, 0.9999]"),
    ("augment", "wobble", "augment must be off, ada, or a comma list of translation, cutout, color"),
    ("augment", "translation,", "augment must be off, ada"),
    ("loss", "foo", "loss must be one of bce, hinge, ls"),
    ("ada_target", 0.0, "ada_target must be in (0, 1]"),
])
def test_bad_recipe_values_are_rejected(field, value, words):
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("(", r"\(")):
        TrainConfig(**{field: value}).validate()


@pytest.mark.parametrize("flags,words", [
    (["--ema-decay", "1.5"], "ema_decay must be in [0, 0.9999], got 1.5 (0 = off"),
    (["--augment", "wobble"], "augment must be off, ada, or a comma list of translation, cutout, color"),
    (["--loss", "foo"], "loss must be one of bce, hinge, ls, got 'foo'"),
])
def test_cli_rejects_bad_recipe_values_in_one_line(flags, words, capsys, tmp_path):
    from gan_core.cli import main

    assert main(["train", *flags, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.strip().count("\n") == 0 and words in err
    assert not (tmp_path / "x").exists()                  # nothing started


def test_cli_flags_exist_for_the_recipe():
    from gan_core.cli import build_parser

    args = build_parser().parse_args(["train", "--loss", "hinge", "--augment", "ada", "--ema-decay", "0.99",
                                      "--spectral-norm"])
    assert (args.loss, args.augment, args.ema_decay, args.spectral_norm) == ("hinge", "ada", 0.99, True)


def test_recipe_under_bf16_autocast_keeps_float32_losses_and_buffers(tiny_images):
    """The CUDA path runs under bf16 autocast; CPU autocast exercises the same dtype rules here: G's images and
    D's logits arrive in bf16, the losses and spectral norm's u, v stay float32, gradients reach G."""
    from gan_core.config import ModelConfig
    from gan_core.models import Discriminator, Generator
    from gan_core.training.trainer import apply_spectral_norm

    cfg = ModelConfig(image_size=16, channels=3, z_dim=8, g_width=4, d_width=4)
    g, d = Generator(cfg), Discriminator(cfg)
    apply_spectral_norm(d)
    aug = augment.Augmenter(("translation", "cutout", "color"), adaptive=True)
    aug.p.fill_(1.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = d(aug(g(torch.randn(4, 8))))
        loss = losses.g_loss("hinge", logits)
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32
    loss.backward()
    assert all(v.dtype == torch.float32 for k, v in d.state_dict().items() if k.endswith(("_u", "_v")))
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
