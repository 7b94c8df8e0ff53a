"""The reference training loop the benchmark compares against: the pytorch/examples `dcgan/main.py` semantics.

Re-implemented here (not copied) so the comparison is fair and explicit. What it keeps from that loop:
- the data path: a Dataset holding uint8 images that hands out one PIL image per `__getitem__`, transformed per
  image every epoch (Resize -> CenterCrop -> ToTensor -> Normalize(0.5, 0.5)), read through a DataLoader with
  2 worker processes and `shuffle=True` (workers are re-spawned each epoch, as there: no persistent workers);
- the nets: the same layers as gan_core's `dcgan` preset for the case, plus a final `Sigmoid` on D, trained
  with `BCELoss` against a label tensor filled with 1 / 0 / 1;
- the loop: D backward on real, then on `fake.detach()`, D step; then G backward through D(fake), G step;
  five `.item()` host syncs per step (D(x), D(G(z)) before and after, loss_D, loss_G) and a printed line;
- every 100 batches of an epoch: the real batch and `netG(fixed_noise)` saved as PNG grids.
What it leaves out: the per-epoch `torch.save` checkpoints (pickle; this project never writes pickle). That
only makes the reference a little faster, so the comparison stays conservative.
"""
from __future__ import annotations

import math
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from typing import TextIO

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset


def _base_and_doublings(image_size: int) -> tuple[int, int]:
    """The same growth rule as gan_core.models: a 4x4 (7x7 for 28 px) first map, doubled up to image_size."""
    s0 = 7 if image_size % 7 == 0 else 4
    return s0, int(round(math.log2(image_size / s0)))


def reference_generator(*, image_size: int, channels: int, z_dim: int, width: int) -> nn.Sequential:
    """z (B, z_dim, 1, 1) -> (B, channels, size, size) in [-1, 1]; layer for layer gan_core's dcgan G."""
    s0, n = _base_and_doublings(image_size)
    ch = width * 2 ** (n - 1)
    layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, ch, s0, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
    for _ in range(n - 1):                                              # side x2, channels / 2
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def reference_discriminator(*, image_size: int, channels: int, width: int) -> nn.Sequential:
    """(B, channels, size, size) -> probabilities (B, 1, 1, 1); gan_core's dcgan D plus the reference's Sigmoid."""
    s0, n = _base_and_doublings(image_size)
    # gan_core's first D conv keeps its bias (no BatchNorm follows it); the others are bias-free before BN.
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=True), nn.LeakyReLU(0.2, inplace=True)]
    ch = width
    for _ in range(n - 1):                                              # side / 2, channels x2
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, inplace=True)]
        ch *= 2
    layers += [nn.Conv2d(ch, 1, s0, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*layers)


def weights_init(m: nn.Module) -> None:
    """Radford et al.: conv weights ~ N(0, 0.02); BatchNorm gamma ~ N(1, 0.02), beta = 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class PILImages(Dataset):
    """uint8 images (N, C, H, W) served one PIL image at a time, like torchvision's MNIST dataset class."""

    def __init__(self, images: torch.Tensor, *, image_size: int, channels: int) -> None:
        from torchvision import transforms

        self.images = images.contiguous()
        self.channels = channels
        half = (0.5,) * channels
        self.transform = transforms.Compose([transforms.Resize(image_size), transforms.CenterCrop(image_size),
                                             transforms.ToTensor(), transforms.Normalize(half, half)])

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.images[i]
        img = Image.fromarray(x[0].numpy(), mode="L") if x.shape[0] == 1 else \
            Image.fromarray(x.permute(1, 2, 0).numpy(), mode="RGB")
        if self.channels == 3 and img.mode != "RGB":
            img = img.convert("RGB")
        return self.transform(img), 0


def process_tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process's threads and its child processes, reaped or
    alive (the DataLoader workers). On a shared machine this is steadier than wall time: it counts the work
    done, not the time spent waiting for a core."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    me, tick = os.getpid(), os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()      # after "pid (comm)": state ppid ...
        except OSError:
            continue                                            # exited meanwhile
        if int(fields[1]) == me:                                # a live child: utime + stime (fields 14, 15)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class ReferenceResult:
    steps: int
    images_per_s: float          # steady state: images after the warm-up steps over their wall time
    images_per_cpu_s: float      # the same images over the CPU seconds of this process and its workers
    metrics: dict[str, float]    # the last step's five printed values


def train_reference(images: torch.Tensor, *, image_size: int, channels: int, z_dim: int = 100, width: int = 64,
                    batch_size: int = 64, steps: int = 80, warmup: int = 5, workers: int = 2, lr: float = 2e-4,
                    beta1: float = 0.5, seed: int = 0, device: str = "cpu", out_dir: str | None = None,
                    log: TextIO | None = None) -> ReferenceResult:
    """Train `steps` batches the reference way; `images` are the raw uint8 (N, C, H, W) source images."""
    if not 1 <= warmup < steps:
        raise ValueError(f"need 1 <= warmup < steps, got warmup={warmup}, steps={steps}")
    torch.manual_seed(seed)
    dev = torch.device(device)
    dataset = PILImages(images, image_size=image_size, channels=channels)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers)
    net_g = reference_generator(image_size=image_size, channels=channels, z_dim=z_dim, width=width).to(dev)
    net_d = reference_discriminator(image_size=image_size, channels=channels, width=width).to(dev)
    net_g.apply(weights_init)
    net_d.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(batch_size, z_dim, 1, 1, device=dev)
    real_label, fake_label = 1.0, 0.0
    opt_d = torch.optim.Adam(net_d.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=lr, betas=(beta1, 0.999))
    own_log = log is None
    log = open(os.devnull, "w") if own_log else log
    tmp = None if out_dir else tempfile.TemporaryDirectory(prefix="reference-dcgan-")
    out = out_dir or tmp.name
    from torchvision.utils import save_image

    step, t0, t1, c0, c1, counted, metrics = 0, None, None, None, None, 0, {}
    epoch = 0
    try:
        while step < steps:
            for i, (real_cpu, _) in enumerate(loader):
                # (1) D: maximise log D(x) + log(1 - D(G(z)))
                net_d.zero_grad()
                real = real_cpu.to(dev)
                b = real.size(0)
                label = torch.full((b,), real_label, dtype=real.dtype, device=dev)
                output = net_d(real).view(-1)
                err_d_real = criterion(output, label)
                err_d_real.backward()
                d_x = output.mean().item()
                noise = torch.randn(b, z_dim, 1, 1, device=dev)
                fake = net_g(noise)
                label.fill_(fake_label)
                output = net_d(fake.detach()).view(-1)
                err_d_fake = criterion(output, label)
                err_d_fake.backward()
                d_g_z1 = output.mean().item()
                err_d = err_d_real + err_d_fake
                opt_d.step()
                # (2) G: maximise log D(G(z)) against the updated D
                net_g.zero_grad()
                label.fill_(real_label)
                output = net_d(fake).view(-1)
                err_g = criterion(output, label)
                err_g.backward()
                d_g_z2 = output.mean().item()
                opt_g.step()
                metrics = {"loss_d": err_d.item(), "loss_g": err_g.item(), "d_real": d_x,
                           "d_fake_before": d_g_z1, "d_fake_after": d_g_z2}
                print(f"[{epoch}][{i}/{len(loader)}] Loss_D: {metrics['loss_d']:.4f} Loss_G: "
                      f"{metrics['loss_g']:.4f} D(x): {d_x:.4f} D(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}", file=log)
                if i % 100 == 0:
                    save_image(real_cpu, f"{out}/real_samples.png", normalize=True)
                    fake = net_g(fixed_noise)
                    save_image(fake.detach(), f"{out}/fake_samples_epoch_{epoch:03d}.png", normalize=True)
                step += 1
                if step == warmup:
                    t0, c0 = time.perf_counter(), process_tree_cpu_seconds()  # the .item() calls synced
                elif step > warmup:
                    counted += b
                if step >= steps:
                    if dev.type == "cuda":
                        torch.cuda.synchronize(dev)
                    t1, c1 = time.perf_counter(), process_tree_cpu_seconds()
                    break
            epoch += 1
    finally:
        if tmp is not None:
            tmp.cleanup()
        if own_log:
            log.close()
    rate = counted / (t1 - t0) if counted else float("nan")
    cpu_rate = counted / max(c1 - c0, 1e-9) if counted else float("nan")
    return ReferenceResult(steps=step, images_per_s=rate, images_per_cpu_s=cpu_rate, metrics=metrics)
