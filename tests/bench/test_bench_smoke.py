"""The benchmark harness runs both loops end to end on tiny settings (no timing assertions: CI ignores speed)."""
from __future__ import annotations

import math

import pytest
import torch

from bench.harness import Case, run_gan_core, run_reference, summarize
from bench.reference_dcgan import reference_discriminator, reference_generator
from gan_core.config import ModelConfig
from gan_core.models import Discriminator, Generator

TINY = Case("tiny", image_size=16, channels=1, z_dim=8, width=4, batch_size=8, steps=2, warmup=1)


def _finite(result: dict) -> bool:
    return all(math.isfinite(v) for v in result["metrics"].values()) and math.isfinite(result["images_per_s"])


def test_reference_and_gan_core_run_and_give_a_ratio():
    ref = run_reference(TINY)
    core = run_gan_core(TINY)
    assert ref["steps"] == core["steps"] == 2
    assert _finite(ref) and _finite(core)
    assert set(ref["metrics"]) == set(core["metrics"]) == {"loss_d", "loss_g", "d_real", "d_fake_before",
                                                            "d_fake_after"}
    assert 0 < ref["metrics"]["d_real"] < 1 and 0 < core["metrics"]["d_real"] < 1
    s = summarize([ref["images_per_s"]], [core["images_per_s"]])
    assert s["ratio_median"] > 0 and math.isfinite(s["ratio_median"])


@pytest.mark.parametrize("size,channels", [(16, 1), (32, 3), (64, 3)])
def test_reference_nets_match_the_dcgan_preset(size, channels):
    """Same layers, same parameter shapes: the reference differs only by D's Sigmoid + BCELoss."""
    cfg = ModelConfig(preset="dcgan", image_size=size, channels=channels, z_dim=8, g_width=4, d_width=4)
    with torch.device("meta"):
        pairs = [(reference_generator(image_size=size, channels=channels, z_dim=8, width=4), Generator(cfg)),
                 (reference_discriminator(image_size=size, channels=channels, width=4), Discriminator(cfg))]
    for ref, ours in pairs:
        assert [p.shape for p in ref.parameters()] == [p.shape for p in ours.parameters()]


def test_g_step_freezes_d_only_for_its_own_backward(tiny_model, tiny_train, tiny_images):
    from gan_core.training.trainer import Trainer

    t = Trainer(tiny_model, tiny_train, images=tiny_images)
    t.step()
    grads = [p.grad.clone() for p in t.D.parameters()]   # the D step's gradients
    assert all(p.requires_grad for p in t.D.parameters())
    d_before = [p.detach().clone() for p in t.D.parameters()]
    t.step()
    assert all(p.requires_grad for p in t.D.parameters())  # unfrozen again for the next D step
    assert any(not torch.equal(a, p) for a, p in zip(d_before, t.D.parameters()))  # D still learns
    assert len(grads) == len(list(t.D.parameters()))


def test_device_defaults_only_change_cuda():
    from gan_core.training.devices import device_defaults

    assert device_defaults(torch.device("cpu")) == {}
    assert device_defaults(torch.device("cuda"))["batch_size"] > 64
