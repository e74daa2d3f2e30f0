"""The timed pieces of `bench_signature.py`: its images, a timer, and the timed runs of the model
queries alone, of a signature and of the `lime` package (see that script's docstring).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

import zest

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # CIFAR-10 in the reference code


def load_images(n: int, root: Path) -> tuple[torch.Tensor, str]:
    """First n training images in canonical order (sorted classes, sorted files), normalized."""
    files = sorted(root.glob("*/*.jpg")) if root.is_dir() else []
    if len(files) >= n:
        from PIL import Image

        pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files[:n]])
        source = f"first {n} images of {root}"
    else:
        pixels = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        source = "random pixels (no CIFAR-10 folder found)"
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return x, source


class Timer:
    """Wall-clock and process CPU seconds of a block (CUDA work is synchronized on exit)."""

    def __init__(self, device: torch.device):
        self.device = device

    def __enter__(self):
        self._sync()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self._sync()
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def time_queries(model, images, total: int, batch_size: int, device) -> Timer:
    """`total` forward passes in batches of `batch_size`, inputs already on the device."""
    batch = images.to(device).repeat(batch_size // len(images) + 1, 1, 1, 1)[:batch_size]
    with Timer(device) as timer, torch.no_grad():
        for first in range(0, total, batch_size):
            model(batch[: min(batch_size, total - first)])
    return timer


class TimedModel:
    """Wraps a CPU model to add up the time spent inside it (the queries of a signature run)."""

    def __init__(self, model, device):
        self.model, self.device, self.wall, self.cpu = model, device, 0.0, 0.0

    def __call__(self, x):
        with Timer(self.device) as timer:
            out = self.model(x)
        self.wall, self.cpu = self.wall + timer.wall, self.cpu + timer.cpu
        return out


def time_signature(
    predict, reference, batch_size: int | None, device, memory_format: str = "auto"
) -> tuple[Timer, zest.Signature]:
    with Timer(device) as timer:
        signature = zest.compute_signature(
            predict, reference, batch_size=batch_size, device=device, memory_format=memory_format
        )
    return timer, signature


def time_lime(model, reference, points: int, batch_size: int, device) -> dict:
    """Explain the first `points` reference images with lime, reference-mode settings."""
    import lime.lime_image
    from sklearn.linear_model import LinearRegression

    lime.lime_image.tqdm = lambda rows, **_: rows  # silence its per-image progress bar
    queries = {"wall": 0.0, "cpu": 0.0}

    def classifier_fn(batch: np.ndarray) -> np.ndarray:  # (B, H, W, C) -> (B, 10)
        with Timer(device) as timer, torch.no_grad():
            out = model(torch.from_numpy(batch).permute(0, 3, 1, 2).to(device)).cpu().numpy()
        queries["wall"] += timer.wall
        queries["cpu"] += timer.cpu
        return out

    explainer = lime.lime_image.LimeImageExplainer(
        kernel=lambda d, kernel_width: np.ones_like(d),
        feature_selection="none",
        random_state=np.random.RandomState(reference.options["seed"]),
    )
    weights = []
    with Timer(device) as timer:
        for i in range(points):
            explanation = explainer.explain_instance(
                reference.inputs[i].transpose(1, 2, 0),
                classifier_fn,
                hide_color=0,
                top_labels=10,
                num_samples=reference.num_samples,
                batch_size=batch_size,
                segmentation_fn=lambda _, i=i: reference.segments[i],
                model_regressor=LinearRegression(fit_intercept=False),
                random_seed=0,  # keeps the shared RandomState for the masks alone
            )
            w = np.zeros((reference.num_features[i], 10))
            for label, pairs in explanation.local_exp.items():
                for feature, value in pairs:
                    w[feature, label] = value
            weights.append(w)
    return {"timer": timer, "queries": queries, "weights": np.concatenate(weights)}
