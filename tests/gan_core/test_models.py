"""Every preset builds its layer shapes at every size and channel count, and trains two steps."""
import pytest
import torch

from gan_core.config import IMAGE_SIZES, PRESETS, ConfigError, ModelConfig, TrainConfig
from gan_core.models import Discriminator, Generator, check_size
from gan_core.training.trainer import Trainer


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("size", IMAGE_SIZES)
@pytest.mark.parametrize("channels", (1, 3))
def test_shapes(preset, size, channels):
    cfg = ModelConfig(preset=preset, image_size=size, channels=channels, z_dim=8, g_width=4, d_width=4)
    g, d = Generator(cfg), Discriminator(cfg)
    x = g(torch.randn(2, 8))
    assert x.shape == (2, channels, size, size)
    assert x.abs().max() <= 1.0                      # Tanh output
    assert d(x).shape == (2,)                        # logits, one per image


def test_roadsign_layer_table():
    """z=32 -> Linear(32->512) -> 256x4x4 -> 128x8x8 -> 64x16x16 -> 3x32x32; D 64(16) 128(8) 256(4) 1(1)."""
    cfg = ModelConfig(preset="roadsign", image_size=32, channels=3, z_dim=32, g_width=64, d_width=64)
    g, d = Generator(cfg), Discriminator(cfg)
    assert (g.stem.in_features, g.stem.out_features) == (32, 512)
    shapes, x = [], g.stem(torch.randn(2, 32)).view(2, 512, 1, 1)
    for layer in g.body:
        x = layer(x)
        if isinstance(layer, torch.nn.ConvTranspose2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(256, 4, 4), (128, 8, 8), (64, 16, 16), (3, 32, 32)]
    shapes, x = [], torch.randn(2, 3, 32, 32)
    for layer in d.net:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 16, 16), (128, 8, 8), (256, 4, 4), (1, 1, 1)]
    assert not isinstance(d.net[1], torch.nn.BatchNorm2d)     # no BN on D's first layer


def test_improved_discriminator_has_dropout_and_global_pooling():
    d = Discriminator(ModelConfig(preset="improved", image_size=28, z_dim=8, g_width=4, d_width=4))
    kinds = [type(m).__name__ for m in d.net]
    assert "AdaptiveAvgPool2d" in kinds and kinds.count("Dropout") == 2 and kinds[-1] == "Linear"


def test_dcgan_init_is_normal_002():
    g = Generator(ModelConfig(image_size=64, z_dim=100, g_width=64))
    w = g.body[0].weight
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002


def test_absurd_sizes_refused_before_allocating():
    with pytest.raises(ConfigError, match="parameters"):
        check_size(ModelConfig(image_size=128, channels=3, z_dim=1024, g_width=1024, d_width=1024))


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_trains_two_steps(preset, tiny_images):
    cfg = ModelConfig(preset=preset, image_size=16, channels=1, z_dim=8, g_width=4, d_width=4)
    t = Trainer(cfg, TrainConfig(max_steps=2, batch_size=8, device="cpu"), images=tiny_images)
    before = [p.clone() for p in t.G.parameters()]
    rows = [t.step().as_dict() for _ in range(2)]
    assert all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in rows)
    assert any(not torch.equal(a, b) for a, b in zip(before, t.G.parameters()))  # G was updated
    assert t.done


@pytest.mark.parametrize("preset", ("dcgan", "roadsign"))
def test_refine_blocks_add_3x3_depth_at_the_first_feature_map(preset):
    base = ModelConfig(preset=preset, image_size=28, z_dim=8, g_width=4, d_width=4)
    refined = ModelConfig(preset=preset, image_size=28, z_dim=8, g_width=4, d_width=4, g_refine=2)
    g0, g2 = Generator(base), Generator(refined)
    convs = [m for m in g2.body if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.in_channels, c.out_channels) for c in convs] == [((3, 3), 8, 8)] * 2   # top = 2 * 4
    extra = sum(p.numel() for p in g2.parameters()) - sum(p.numel() for p in g0.parameters())
    assert extra == 2 * (8 * 8 * 9 + 2 * 8)                       # two 3x3 convs (no bias) + their BatchNorms
    x = g2(torch.randn(3, 8))
    assert x.shape == (3, 1, 28, 28) and Discriminator(refined)(x).shape == (3,)
    h = g2.body[:3](torch.randn(3, 8, 1, 1) if preset == "dcgan" else g2.stem(torch.randn(3, 8)).view(3, -1, 1, 1))
    assert h.shape[-2:] == (7, 7) and g2.body[3](h).shape == h.shape   # the block keeps the 7x7 map


def test_refine_is_the_dcgan_default_and_off_in_old_configs():
    from gan_core.config import with_preset

    assert with_preset("dcgan")[0].g_refine == 1                  # the default run's recipe (BENCHMARKS "Quality")
    assert all(with_preset(p)[0].g_refine == 0 for p in ("roadsign", "improved", "upsample"))
    assert with_preset("dcgan", model={"g_refine": 0})[0].g_refine == 0
    old = ModelConfig.from_dict({"preset": "dcgan", "image_size": 28, "channels": 1, "z_dim": 100})
    assert old.g_refine == 0          # a checkpoint saved before the field existed: Radford et al.'s G, as trained
    with pytest.raises(ConfigError, match="dcgan and roadsign presets only"):
        ModelConfig(preset="improved", g_refine=1).validate()
    with pytest.raises(ConfigError, match=r"g_refine must be in \[0, 4\]"):
        ModelConfig(g_refine=5).validate()
