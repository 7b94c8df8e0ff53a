"""cpu_kernels: each faster layer gives PyTorch's own outputs and gradients, for the shapes the presets build."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gan_core.training import cpu_kernels
from gan_core.config import ModelConfig, TrainConfig
from gan_core.models import Discriminator, Generator
from gan_core.training.trainer import Trainer

CL = torch.channels_last


def _grads(layer: nn.Module, x: torch.Tensor, g_out: torch.Tensor) -> tuple[torch.Tensor, ...]:
    x = x.detach().clone().requires_grad_(True)
    y = layer(x)
    params = [p for p in layer.parameters()]
    grads = torch.autograd.grad(y, [x, *params], g_out)
    return (y.detach(), *grads)


def _compare(plain: nn.Module, x: torch.Tensor, expected_cls: type) -> None:
    torch.manual_seed(1)
    plain = plain.to(memory_format=CL)
    fast = copy.deepcopy(plain)
    assert cpu_kernels.accelerate(fast) == 1
    assert type(fast) is expected_cls
    x = x.contiguous(memory_format=CL)
    g_out = torch.randn_like(plain(x))
    ref, got = _grads(plain, x, g_out), _grads(fast, x, g_out)
    assert got[0].shape == ref[0].shape
    for r, g in zip(ref, got):
        scale = r.abs().max().clamp_min(1e-6)
        assert ((r - g).abs().max() / scale) < 1e-5, (expected_cls.__name__, (r - g).abs().max(), scale)


@pytest.mark.parametrize("c_in,c_out,side,bias", [
    (8, 16, 8, False),    # D's 8 -> 4 layer: the weight gradient takes the dilated forward conv
    (8, 16, 7, False),    # 28 px model: 7 -> 3, the dilated conv's extra taps are cut off
    (4, 8, 16, True),     # a bigger output map keeps oneDNN's weight gradient; bias gradient
    (3, 8, 8, True),      # D's first layer on a small RGB image
    (1, 8, 16, True),     # ... and on a digit
])
def test_strided_conv_matches_conv2d(c_in, c_out, side, bias):
    _compare(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), torch.randn(5, c_in, side, side), cpu_kernels.StridedConv2d)


@pytest.mark.parametrize("side,bias", [(4, False), (7, True)])
def test_dense_conv_matches_full_kernel_conv(side, bias):
    _compare(nn.Conv2d(16, 1, side, 1, 0, bias=bias), torch.randn(5, 16, side, side), cpu_kernels.DenseConv2d)


def test_dense_conv_falls_back_when_the_kernel_does_not_cover_the_map():
    _compare(nn.Conv2d(16, 2, 4, 1, 0), torch.randn(3, 16, 6, 6), cpu_kernels.DenseConv2d)


@pytest.mark.parametrize("side,bias", [(4, False), (7, True)])
def test_dense_conv_transpose_matches_on_a_1x1_map(side, bias):
    _compare(nn.ConvTranspose2d(10, 12, side, 1, 0, bias=bias), torch.randn(5, 10, 1, 1),
             cpu_kernels.DenseConvTranspose2d)


@pytest.mark.parametrize("c_out,bias", [(1, False), (3, True)])
def test_fold_conv_transpose_matches_to_an_image(c_out, bias):
    _compare(nn.ConvTranspose2d(8, c_out, 4, 2, 1, bias=bias), torch.randn(5, 8, 7, 7), cpu_kernels.FoldConvTranspose2d)


def test_layers_that_have_no_faster_form_are_left_alone():
    layers = nn.Sequential(nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.Conv2d(8, 8, 3, 1, 1), nn.Conv2d(8, 8, 4, 2, 1, dilation=2),
                           nn.utils.parametrizations.spectral_norm(nn.Conv2d(8, 8, 4, 2, 1)))
    assert cpu_kernels.accelerate(layers) == 0
    assert [type(m) for m in layers][:3] == [nn.ConvTranspose2d, nn.Conv2d, nn.Conv2d]


@pytest.mark.parametrize("preset,size,channels", [("dcgan", 32, 1), ("dcgan", 28, 1), ("dcgan", 16, 3),
                                                   ("roadsign", 32, 3), ("upsample", 16, 1), ("improved", 16, 1)])
def test_whole_models_keep_outputs_gradients_and_state_dict(preset, size, channels):
    cfg = ModelConfig(preset=preset, image_size=size, channels=channels, z_dim=8, g_width=4, d_width=4)
    torch.manual_seed(0)
    g, d = Generator(cfg).to(memory_format=CL), Discriminator(cfg).to(memory_format=CL)
    fg, fd = copy.deepcopy(g), copy.deepcopy(d)
    swapped = cpu_kernels.accelerate(fg) + cpu_kernels.accelerate(fd)
    assert swapped >= (3 if preset in ("dcgan", "roadsign") else 1)
    assert list(fg.state_dict()) == list(g.state_dict()) and list(fd.state_dict()) == list(d.state_dict())
    z = torch.randn(6, cfg.z_dim)
    outs = []
    for gen, disc in ((g, d), (fg, fd)):
        torch.manual_seed(5)  # the same dropout masks on both sides
        logits = disc(gen(z))
        logits.sum().backward()
        outs.append([logits.detach()] + [p.grad.clone() for p in (*gen.parameters(), *disc.parameters())])
    for r, f in zip(*outs):  # float32 sums in another order: equal to ~1e-6 of each tensor's scale
        assert ((r - f).abs().max() / r.abs().max().clamp_min(1e-6)) < 1e-4
    cpu_kernels.plain(fg)
    assert all(type(m) in (nn.Conv2d, nn.ConvTranspose2d) for m in fg.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_trainer_uses_the_fast_layers_on_cpu_and_trains_like_plain_layers(tiny_images):
    model_cfg = ModelConfig(image_size=16, channels=1, z_dim=8, g_width=4, d_width=4)
    train_cfg = TrainConfig(batch_size=8, max_steps=3, device="cpu", seed=3)
    fast = Trainer(model_cfg, train_cfg, images=tiny_images, device=torch.device("cpu"))
    plain = Trainer(model_cfg, train_cfg, images=tiny_images, device=torch.device("cpu"), fast_cpu_kernels=False)
    assert fast.fast_cpu_layers == 6 and plain.fast_cpu_layers == 0
    for _ in range(3):
        a, b = fast.step().values, plain.step().values
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-4), (a, b)
    for p, q in zip(fast.G.parameters(), plain.G.parameters()):
        assert torch.allclose(p, q, rtol=1e-3, atol=1e-5)
