"""Count reference-mode superpixels per image on a CIFAR-10 folder.

Loads the first N training images in canonical order (sorted class folders, then sorted files; in
the JPEG subset under ../shared/data that means the first N airplanes for N <= 1000), normalizes
them with the statistics the reference code used for CIFAR-10, and segments them exactly as
`zest.image_reference` does by default (quickshift on de-normalized 0-255 float64 pixels).

    python benchmarks/superpixels.py                    # first 128 images
    python benchmarks/superpixels.py --per-class 13     # the first 13 images of every class too
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import zest

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def normalized(files: list[Path]) -> torch.Tensor:
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])  # (N, H, W, 3)
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def superpixel_counts(files: list[Path], segmenter=None) -> np.ndarray:
    """K_i of each image under reference mode (or the given segmenter)."""
    reference = zest.image_reference(
        normalized(files), mean=MEAN, std=STD, num_samples=2, segmenter=segmenter
    )
    return reference.num_features


def describe(name: str, k: np.ndarray) -> str:
    return (
        f"{name}: n={len(k)}  K min {k.min()}  median {np.median(k):g}  mean {k.mean():.2f}  "
        f"max {k.max()}"
    )


# the real CIFAR-10 subset beside the repository (../shared/data)
SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10" / "train"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=SHARED_CIFAR)
    parser.add_argument("--n", type=int, default=128, help="first N images in canonical order")
    parser.add_argument("--per-class", type=int, default=0, help="also the first M of each class")
    args = parser.parse_args()
    classes = sorted(p for p in args.root.iterdir() if p.is_dir())
    files = [f for c in classes for f in sorted(c.glob("*.jpg"))]
    first = files[: args.n]
    print(f"{args.root}: {len(classes)} classes, {len(files)} images")
    print(describe(f"first {len(first)} (canonical order)", superpixel_counts(first)))
    scaled = superpixel_counts(first, zest.Quickshift.scaled())
    print(describe("  same images, quickshift on [0, 1] pixels (not reference mode)", scaled))
    if args.per_class:
        balanced = [f for c in classes for f in sorted(c.glob("*.jpg"))[: args.per_class]]
        print(describe(f"first {args.per_class} of each class", superpixel_counts(balanced)))


if __name__ == "__main__":
    main()
