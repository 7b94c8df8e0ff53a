"""Data sources: built-in digits offline, folders and zips of images, clear errors, batches by index."""
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.data.datasets import BatchSource, DataError, load_digits, load_images


def _png(color, size=(20, 12), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def test_digits_are_real_labelled_mnist_and_split():
    train, y_train = load_digits(split="train")
    held, y_held = load_digits(split="held_out")
    assert train.shape == (4000, 1, 28, 28) and held.shape == (1000, 1, 28, 28)
    assert train.dtype == torch.uint8 and set(y_train.unique().tolist()) == set(range(10))
    assert 0.08 < (train > 127).float().mean() < 0.25      # white strokes on black, like MNIST


@pytest.mark.parametrize("size,channels", [(16, 1), (32, 3), (28, 1)])
def test_digits_resized_and_channel_mapped(size, channels):
    s = load_images("digits", image_size=size, channels=channels)
    assert s.images.shape == (4000, channels, size, size) and s.skipped_total == 0
    if channels == 3:
        assert torch.equal(s.images[:, 0], s.images[:, 2])


def test_folder_recursive_with_skips(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "red.png").write_bytes(_png((255, 0, 0)))
    (tmp_path / "a" / "b" / "blue.png").write_bytes(_png((0, 0, 255), size=(12, 30)))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("hello")
    s = load_images(str(tmp_path), image_size=16, channels=3)
    assert s.images.shape == (2, 3, 16, 16)
    assert s.skipped == {"unreadable": 1, "not an image file": 1}
    colours = {tuple(img[:, 8, 8].tolist()) for img in s.images}
    assert colours == {(255, 0, 0), (0, 0, 255)}


def test_zip_read_in_memory_and_greyscale(tmp_path):
    z = tmp_path / "imgs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("x/white.png", _png((255, 255, 255)))
        zf.writestr("x/black.png", _png((0, 0, 0)))
    s = load_images(str(z), image_size=16, channels=1)
    assert s.images.shape == (2, 1, 16, 16)
    assert sorted(int(i.float().mean()) for i in s.images) == [0, 255]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs.zip"]      # nothing extracted


def test_rgba_composited_and_short_side_crop(tmp_path):
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    img.paste((255, 0, 0, 255), (10, 0, 30, 20))   # an opaque red square in the centre 20x20
    img.save(tmp_path / "a.png")
    s = load_images(str(tmp_path), image_size=16, channels=3)
    centre = s.images[0, :, 8, 8].tolist()
    assert centre == [255, 0, 0]                     # the centre crop keeps the square, filling the frame


def test_zero_usable_images_is_one_clear_error(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"nope")
    with pytest.raises(DataError, match=r"no usable images .*1 unreadable"):
        load_images(str(tmp_path), image_size=16, channels=1)


def test_unknown_source_names_alternatives():
    with pytest.raises(DataError, match="digits, mnist, fashion-mnist, cifar10"):
        load_images("imagenet", image_size=16, channels=1)


def test_torchvision_offline_message(monkeypatch):
    import socket

    def no_network(*a, **k):
        raise OSError("network is unreachable")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(DataError, match=r"could not download mnist.*'digits'.*folder or \.zip"):
        load_images("mnist", image_size=28, channels=1)


def test_batches_by_index_cover_epoch_and_flip():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    src = BatchSource(images, batch_size=3, device=torch.device("cpu"), generator=torch.Generator().manual_seed(0))
    assert src.steps_per_epoch == 3
    seen, ends = [], []
    for _ in range(3):
        x, end = src.next()
        assert x.shape == (3, 1, 2, 2) and x.min() >= -1 and x.max() <= 1
        seen += ((x[:, 0, 0, 0] + 1) * 127.5).round().int().tolist()
        ends.append(end)
    assert ends == [False, False, True] and len(set(seen)) == 9     # no repeats within an epoch
    ramp = torch.tensor([[0, 255]], dtype=torch.uint8).view(1, 1, 1, 2).expand(64, 1, 1, 2).contiguous()
    src = BatchSource(ramp, batch_size=64, device=torch.device("cpu"), hflip=True,
                      generator=torch.Generator().manual_seed(0))
    x, _ = src.next()
    flipped = (x[:, 0, 0, 0] > 0).float().mean().item()
    assert 0.2 < flipped < 0.8
    assert np.isclose(x.sum().item(), 0.0)           # each row is a permutation of (-1, 1)
