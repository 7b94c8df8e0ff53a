"""Latent maths and reproducibility: lerp/slerp properties, keyframe paths, seeded z, and the same image from
the Python API, the CLI and an interpolation endpoint."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.latent import MAX_SEED, keyframe_path, lerp, slerp, z_from_seed, z_from_seeds


def test_z_from_seed_is_deterministic_and_seed_specific():
    a, b, c = z_from_seed(7, 32), z_from_seed(7, 32), z_from_seed(8, 32)
    assert a.shape == (32,) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(123)  # the global RNG must not matter
    assert torch.equal(z_from_seed(7, 32), a)
    assert torch.equal(z_from_seeds([7, 8], 32), torch.stack([a, c]))
    with pytest.raises(ValueError):
        z_from_seed(MAX_SEED + 1, 4)


@pytest.mark.parametrize("fn", [lerp, slerp])
def test_endpoints_exact_and_steps_count(fn):
    a, b = z_from_seed(1, 16), z_from_seed(2, 16)
    t = torch.linspace(0, 1, 9)
    out = fn(a, b, t)
    assert out.shape == (9, 16)
    assert torch.equal(out[0], a) and torch.equal(out[-1], b)


def test_lerp_midpoint_is_the_mean():
    a, b = z_from_seed(1, 16), z_from_seed(2, 16)
    assert torch.allclose(lerp(a, b, torch.tensor([0.5]))[0], (a + b) / 2)


def test_slerp_keeps_norm_between_keyframes_of_equal_norm():
    a, b = z_from_seed(3, 64), z_from_seed(4, 64)
    b = b / b.norm() * a.norm()
    out = slerp(a, b, torch.linspace(0, 1, 17))
    assert torch.allclose(out.norm(dim=1), a.norm().expand(17), rtol=1e-5)
    # lerp cuts through the ball: its midpoint is shorter (for non-parallel vectors).
    assert lerp(a, b, torch.tensor([0.5]))[0].norm() < a.norm() * 0.95


def test_slerp_parallel_vectors_fall_back_cleanly():
    a = z_from_seed(5, 8)
    out = slerp(a, 2 * a, torch.linspace(0, 1, 5))
    assert torch.isfinite(out).all()
    assert torch.allclose(out[2], 1.5 * a, rtol=1e-5)


def test_keyframe_path_shapes_contain_keyframes_and_pingpong():
    keys = z_from_seeds([1, 2, 3], 8)
    for mode in ("lerp", "slerp"):
        path = keyframe_path(keys, 5, mode=mode)
        assert path.shape == (2 * 4 + 1, 8)
        assert torch.equal(path[0], keys[0]) and torch.equal(path[4], keys[1]) and torch.equal(path[8], keys[2])
        pp = keyframe_path(keys, 5, mode=mode, pingpong=True)
        assert pp.shape == (9 + 7, 8)
        assert torch.equal(pp[9], path[7]) and torch.equal(pp[-1], path[1])
    with pytest.raises(ValueError):
        keyframe_path(keys[:1], 5)
    with pytest.raises(ValueError):
        keyframe_path(keys, 1)


def _png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_same_seed_same_image_api_cli_and_interpolation_endpoints(tiny_checkpoint, tmp_path):
    from gan_core.checkpoints.store import load_generator
    from gan_core.cli import main
    from gan_core.export import png_bytes
    from gan_core.sampling import images_from_seeds, images_from_z

    g = load_generator(tiny_checkpoint).generator
    api = images_from_seeds(g, [3, 11])
    # Batch composition does not matter (eval-mode BatchNorm): seed 11 alone gives the same pixels.
    assert torch.equal(images_from_seeds(g, [11])[0], api[1])
    assert torch.equal(images_from_seeds(load_generator(tiny_checkpoint).generator, [3, 11]), api)

    assert main(["sample", "--checkpoint", str(tiny_checkpoint), "--seeds", "3,11",
                 "--out", str(tmp_path / "s.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        cli = [_png_pixels(zf.read(f"seed_{s:06d}.png")) for s in (3, 11)]
    for k in range(2):
        assert np.array_equal(cli[k], _png_pixels(png_bytes(api[k])))

    # Interpolation endpoints (both modes, with and without ping-pong) are the keyframe seeds' images.
    keys = z_from_seeds([3, 11], g.config.z_dim)
    for mode in ("lerp", "slerp"):
        frames = images_from_z(g, keyframe_path(keys, 6, mode=mode, pingpong=True))
        assert torch.equal(frames[0], api[0]) and torch.equal(frames[5], api[1])
    assert main(["interpolate", "--checkpoint", str(tiny_checkpoint), "--seeds", "3,11", "--steps", "6",
                 "--out", str(tmp_path / "i.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "i.zip") as zf:
        names = sorted(zf.namelist())
        assert len(names) == 6
        assert np.array_equal(_png_pixels(zf.read(names[0])), cli[0])
        assert np.array_equal(_png_pixels(zf.read(names[-1])), cli[1])
