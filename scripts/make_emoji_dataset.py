"""Render a small colour image set of emoji (offline) for the bundled `emoji-dcgan` checkpoint.

Source: Debian's `fonts-noto-color-emoji` (NotoColorEmoji.ttf, Google's Noto Color Emoji, SIL Open Font
License 1.1). It is a CBDT bitmap font whose strikes are 109 px, so it is opened at size 109 and drawn with
`embedded_color=True`. Each emoji in the chosen Unicode blocks that the font has is drawn, cropped to its
ink, centred on a white square and saved as a 64x64 RGB PNG; `--variants` adds copies with a small seeded
jitter of scale and position (cheap augmentation for a GAN on a few hundred images).

    apt-get install -y fonts-noto-color-emoji
    python scripts/make_emoji_dataset.py --out /tmp/emoji64 --variants 3
    python -m gan_core train --dataset /tmp/emoji64 --channels 3 --image-size 32 ...
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
# Faces and creatures read best at 32 px: smileys, cat faces, people-ish faces, animal faces, fruit/veg.
BLOCKS = {
    "faces": (0x1F600, 0x1F64F),
    "more-faces": (0x1F910, 0x1F92F),
    "supplemental-faces": (0x1F970, 0x1F97F),
    "animals": (0x1F400, 0x1F43F),
    "food": (0x1F345, 0x1F37F),
}


def render(font: ImageFont.FreeTypeFont, ch: str) -> Image.Image | None:
    """One glyph as RGBA cropped to its ink, or None when the font lacks it (nothing drawn)."""
    canvas = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((10, 10), ch, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    if box is None or (box[2] - box[0]) < 20 or (box[3] - box[1]) < 20:
        return None
    return canvas.crop(box)


def place(glyph: Image.Image, size: int, *, scale: float, dx: float, dy: float) -> Image.Image:
    """Glyph fitted into `scale` of a white size x size square, shifted by (dx, dy) pixels."""
    side = max(glyph.size)
    target = max(1, round(size * scale))
    w, h = (max(1, round(glyph.width * target / side)), max(1, round(glyph.height * target / side)))
    g = glyph.resize((w, h), Image.Resampling.LANCZOS)
    out = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    out.alpha_composite(g, (round((size - w) / 2 + dx), round((size - h) / 2 + dy)))
    return out.convert("RGB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/emoji64")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--variants", type=int, default=3, help="jittered copies per emoji (besides the plain one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--font", default=FONT)
    args = p.parse_args()
    font = ImageFont.truetype(args.font, 109)   # CBDT strikes exist at 109 px only
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_emoji = n_files = 0
    for block, (lo, hi) in BLOCKS.items():
        for cp in range(lo, hi + 1):
            glyph = render(font, chr(cp))
            if glyph is None:
                continue
            n_emoji += 1
            place(glyph, args.size, scale=0.9, dx=0, dy=0).save(out / f"{block}_{cp:05X}_0.png")
            n_files += 1
            for v in range(1, args.variants + 1):
                img = place(glyph, args.size, scale=rng.uniform(0.8, 0.95),
                            dx=rng.uniform(-2, 2), dy=rng.uniform(-2, 2))
                img.save(out / f"{block}_{cp:05X}_{v}.png")
                n_files += 1
    print(f"rendered {n_emoji} emoji as {n_files} images into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
