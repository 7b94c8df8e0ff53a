"""Reference DCGAN generators as people published them, written here from the published architectures with plain
torch.nn layers (not with gan_core), and the files of Hub repos holding them, for tests/hub_server.HubServer.

- HugGAN (huggan/community-events, `PyTorchModelHubMixin`): `Generator(num_channels, latent_dim, hidden_size)`
  whose `self.model` is ConvT(latent, 8h, 4, 1, 0)+BN+ReLU, ConvT(8h, 4h, 4, 2, 1)+BN+ReLU, ConvT(4h, 2h)+BN+ReLU,
  ConvT(2h, h)+BN+ReLU, ConvT(h, C, 4, 2, 1)+Tanh, all convs bias-free; input (B, latent, 1, 1) -> (B, C, 64, 64);
  config.json = {"num_channels", "latent_dim", "hidden_size"}; weights `model.<i>.<param>`.
- pytorch/examples dcgan: the same stack as `self.main` (nz, ngf, nc); `torch.save(netG.state_dict(),
  'netG_epoch_N.pth')`.
"""
from __future__ import annotations

import io
import json

import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn


def _stack(z: int, width: int, channels: int) -> nn.Sequential:
    def block(i: int, o: int, stride: int, pad: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(i, o, 4, stride, pad, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]
    return nn.Sequential(*block(z, width * 8, 1, 0), *block(width * 8, width * 4, 2, 1),   # (B, 8w, 4, 4) (B, 4w, 8, 8)
                         *block(width * 4, width * 2, 2, 1), *block(width * 2, width, 2, 1),  # 16, 32 px
                         nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh())  # (B, C, 64, 64)


class HugGANGenerator(nn.Module):
    def __init__(self, num_channels: int = 3, latent_dim: int = 100, hidden_size: int = 64) -> None:
        super().__init__()
        self.model = _stack(latent_dim, hidden_size, num_channels)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.model(noise)


class ExamplesNetG(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = _stack(nz, ngf, nc)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def trained_looking(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random conv weights and non-trivial BatchNorm statistics, as after training; eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.ConvTranspose2d):
                m.weight.normal_(0, 0.1)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.8, 1.2)
                m.bias.uniform_(-0.1, 0.1)
    return net.eval()


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def huggan_files(net: HugGANGenerator, *, bin: bool = False) -> dict[str, bytes]:
    first, last = net.model[0].weight, net.model[-2].weight
    config = {"num_channels": last.shape[1], "latent_dim": first.shape[0], "hidden_size": last.shape[0]}
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    weights = {"pytorch_model.bin": torch_bytes(state)} if bin else {"model.safetensors": safetensors_bytes(state)}
    return {"config.json": json.dumps(config).encode(), **weights,
            "README.md": b"---\ntags: [huggan, gan, dcgan]\n---\n# A HugGAN DCGAN\n"}


def examples_files(nets: dict[int, ExamplesNetG]) -> dict[str, bytes]:
    return {f"netG_epoch_{epoch}.pth": torch_bytes(net.state_dict()) for epoch, net in nets.items()}


def folder_files(folder) -> dict[str, bytes]:
    """A checkpoint folder's files (recursively, as repo paths) for pushing it to the test Hub."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def point_client_at(monkeypatch, url: str, cache) -> None:
    """In-process: huggingface_hub read HF_ENDPOINT at import into constants.ENDPOINT and the resolve-URL
    template, so patch both (and the cache dir) the way the library's own tests patch its constants."""
    import huggingface_hub.constants as hf

    monkeypatch.setattr(hf, "ENDPOINT", url)
    monkeypatch.setattr(hf, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", False)


def demo_repos(hub) -> None:
    """A few repos for the Hub browser demo and screenshots: HugGAN (with a sample image), examples, a text model."""
    from gan_core.export import grid_png
    from gan_core.checkpoints.formats import generator_from_state
    from gan_core.sampling import images_from_seeds

    hg = trained_looking(HugGANGenerator(3, 16, 8), seed=1)
    g, _ = generator_from_state(hg.state_dict(), where="demo")
    png = grid_png(images_from_seeds(g, range(8)), nrow=4)
    hub.add("huggan/dcgan-demo-faces", {**huggan_files(hg), "samples.png": png}, tags=["huggan", "gan", "dcgan"],
            likes=12, downloads=340, last_modified="2025-06-02T10:00:00.000Z")
    hub.add("someone/dcgan-celeba-examples", examples_files({5: trained_looking(ExamplesNetG(16, 4, 3), 2),
                                                             10: trained_looking(ExamplesNetG(16, 4, 3), 3)}),
            tags=["dcgan", "gan"], likes=3, downloads=57, last_modified="2024-11-20T08:30:00.000Z")
    full = trained_looking(HugGANGenerator(3, 100, 64), seed=4)     # the published size: 3.6 M params, ~14 MB
    hub.add("huggan/dcgan-full-size", huggan_files(full), tags=["huggan", "dcgan"], likes=5, downloads=120,
            last_modified="2025-03-14T09:00:00.000Z")
    hub.add("someone/tiny-text-model", {"config.json": b'{"model_type": "gpt2"}'}, tags=["text-generation"],
            likes=100, downloads=9000)
