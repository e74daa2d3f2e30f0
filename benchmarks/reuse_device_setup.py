"""What `bench_reuse_device.py` measures on and with: its sizes, the synthetic images, the
models, the reference set (quickshift, or a grid if quickshift would be too slow), a device-synced
timer and the wrapper that lets one failed measurement print FAILED without stopping the others.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision

import zest

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet
NUM_CLASSES = 102  # Flowers-102, the first target of the benchmark


@dataclass(frozen=True)
class Sizes:
    image: int = 224
    batch: int = 64  # training batch
    warmup: int = 3  # training steps before the timed ones
    steps: int = 20  # timed training steps
    points: int = 128  # Zest reference points N
    samples: int = 1000  # perturbations per point L
    seeds: int = 100  # ModelDiff seeds
    pgd_steps: int = 50  # ModelDiff PGD steps
    probe: int = 2  # images quickshift is timed on


QUICK = Sizes(image=32, batch=8, warmup=1, steps=2, points=4, samples=50, seeds=5, pgd_steps=3)
FAILURES: list[str] = []


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn, /, *args, **kwargs):
    """(wall seconds, result) of fn(*args, **kwargs), device work included."""
    synchronize(device)
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    synchronize(device)
    return time.perf_counter() - start, result


def measurement(label: str):
    """Run a measurement function; on an exception print FAILED with the error and go on."""

    def wrap(fn):
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # one broken measurement must not hide the others
                traceback.print_exc(file=sys.stdout)
                print(f"{label}: FAILED ({type(exc).__name__}: {exc})", flush=True)
                FAILURES.append(" ".join(label.split()))
                return None

        return run

    return wrap


def synthetic_images(n: int, size: int, seed: int) -> torch.Tensor:
    """Normalized (n, 3, size, size) smooth random images: a coarse random field, upsampled."""
    generator = torch.Generator().manual_seed(seed)
    cells = max(2, min(7, size // 16))  # 7x7 at 224x224: about 100 quickshift superpixels
    coarse = torch.randn(n, 3, cells, cells, generator=generator)
    images = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return images.clamp(-1.8, 1.8)  # de-normalized pixels stay within 0-255


def build(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return getattr(torchvision.models, arch)(weights=None, num_classes=NUM_CLASSES)


def build_reference(sizes: Sizes, budget: float) -> zest.Reference:
    """The reference set: quickshift if all images fit in `budget` seconds, else a grid."""
    images = synthetic_images(sizes.points, sizes.image, seed=1)
    probe = images[: sizes.probe]
    with warnings.catch_warnings():  # K_i >= L: only the segmentation is of interest here
        warnings.simplefilter("ignore", zest.ZestWarning)
        seconds, probed = timed(
            torch.device("cpu"), zest.image_reference, probe, mean=MEAN, std=STD, num_samples=2
        )
    per_image = seconds / len(probe)
    projected = per_image * sizes.points
    k = probed.num_features
    print(
        f"quickshift on {sizes.image}x{sizes.image}: {per_image:.2f} s/image (K = {k.min()}-"
        f"{k.max()} on {len(probe)} images); {sizes.points} images: {projected:.1f} s projected",
        flush=True,
    )
    segmenter = None
    if projected > budget:
        segmenter = zest.Grid((10, 10))
        print(
            f"  > {budget:.0f} s (--quickshift-budget): the reference uses zest.Grid((10, 10)) "
            f"(100 superpixels) instead; segmentation runs once per reference, on the CPU, and "
            f"is not part of the device timings below"
        )
    seconds, reference = timed(
        torch.device("cpu"),
        zest.image_reference,
        images,
        mean=MEAN,
        std=STD,
        num_samples=sizes.samples,
        segmenter=segmenter,
    )
    k = reference.num_features
    print(
        f"reference: N = {sizes.points}, L = {sizes.samples}, "
        f"{'quickshift' if segmenter is None else 'grid 10x10'}, K mean {k.mean():.1f}, "
        f"built in {seconds:.1f} s (CPU)",
        flush=True,
    )
    return reference
