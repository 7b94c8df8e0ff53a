"""Train the digits-score classifier on the built-in digits' held-out split and save it as safetensors.

    python scripts/train_digit_classifier.py [--epochs 60] [--seed 0] [--out gan_core/evaluation/weights/digit_classifier.safetensors]

Data: gan_core.data.datasets.load_digits(split="held_out"): 1,000 digits (100 per class) that no GAN trains on. 900 of
them train the classifier, 100 (10 per class) pick the epoch to keep; then the kept model is tested on the 4,000
digits of the GANs' training split, which the classifier never saw: that is the accuracy to quote.
Augmentation (on tensors): random rotation +-12 degrees, scale 0.85-1.15, shift +-2 px, stroke thickening, and a
little pixel noise, so the classifier tolerates the wobbly strokes a GAN draws.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gan_core.data.datasets import load_digits  # noqa: E402
from gan_core.evaluation.digit_classifier import WEIGHTS, DigitClassifier  # noqa: E402


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x: (B, 1, 28, 28) in [0, 1] -> a randomly warped copy of the same shape."""
    b = x.shape[0]
    angle = (torch.rand(b, generator=g) * 2 - 1) * math.radians(12)
    scale = 0.85 + torch.rand(b, generator=g) * 0.3
    shift = (torch.rand(b, 2, generator=g) * 2 - 1) * (2 / 14)        # +-2 px in normalised [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)    # (B, 28, 28, 2)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    thick = F.max_pool2d(x, 3, stride=1, padding=1)                    # dilated strokes
    alpha = torch.rand(b, 1, 1, 1, generator=g) * 0.6 * (torch.rand(b, 1, 1, 1, generator=g) < 0.5)
    x = x + alpha * (thick - x)
    x = x + torch.randn(x.shape, generator=g) * 0.05
    return x.clamp(0, 1)


def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        pred = torch.cat([model(c).argmax(1) for c in x.split(500)])
    return float((pred == y).float().mean())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(WEIGHTS))
    args = p.parse_args()

    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    images, labels = load_digits(split="held_out")                     # (1000, 1, 28, 28) uint8, classes mixed
    x_all = images.float() / 255.0
    val = torch.zeros(len(labels), dtype=torch.bool)
    for c in range(10):                                                # 10 per class for validation
        val[(labels == c).nonzero().view(-1)[:10]] = True
    x_tr, y_tr, x_val, y_val = x_all[~val], labels[~val], x_all[val], labels[val]
    test_images, y_test = load_digits(split="train")                   # 4,000 digits the classifier never sees
    x_test = test_images.float() / 255.0

    model = DigitClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * math.ceil(len(y_tr) / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    best, best_state, t0 = -1.0, None, time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y_tr), generator=g)
        for idx in order.split(args.batch_size):
            loss = F.cross_entropy(model(augment(x_tr[idx], g)), y_tr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, x_val, y_val)
        if acc >= best:  # ties go to the later (better trained) epoch
            best, best_state = acc, copy.deepcopy(model.state_dict())
        print(f"epoch {epoch + 1:3d}/{args.epochs}  loss {loss.item():.3f}  val acc {acc:.3f}", flush=True)
    model.load_state_dict(best_state)
    test = accuracy(model, x_test, y_test)
    print(f"kept val acc {best:.3f} (100 held-out digits); test acc {test:.4f} on the 4,000 GAN-training digits "
          f"the classifier never saw; {time.perf_counter() - t0:.0f} s")

    from safetensors.torch import save_file

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out), metadata={"val_accuracy": f"{best:.4f}", "test_accuracy": f"{test:.4f}",
                                         "trained_on": "digits held_out split (900 train / 100 val)",
                                         "seed": str(args.seed), "epochs": str(args.epochs)})
    print(f"saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
