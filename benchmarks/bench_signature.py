"""Benchmark `zest.compute_signature` against the bare model queries and the `lime` package.

For a CIFAR ResNet20 (random initialization; timings do not depend on the weights) it prints:
  1. signature time / time of the same N * L model queries alone (goal <= 1.15 on CPU and GPU);
  2. the same ratio for `lime.lime_image.LimeImageExplainer` computing the same per-image
     surrogates, and zest's speed-up over it (goal on GPU: >= 20x);
  3. peak memory (process RSS; CUDA peak allocation on GPU).

LIME is configured as close to reference mode as it allows: our segments, hide_color=0 (masked
superpixels at 0 in normalized space), all 10 labels, a constant kernel (no sample weights),
`LinearRegression(fit_intercept=False)` (OLS without intercept), no feature selection, and its
default query batch of 10. So configured it computes exactly the reference-mode surrogates, which
the script checks on the explained points.

Queries-only and signature runs alternate `--repeats` times; the ratio is the median of the paired
ratios. On CPU the table also gives process CPU time, which a busy shared machine disturbs less
than wall-clock time.

    python benchmarks/bench_signature.py                       # CPU, N=16, L=1000 (~2 min)
    python benchmarks/bench_signature.py --device cuda --n 128 --batch-size 8192 --repeats 5
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

import zest

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # CIFAR-10 in the reference code
CIFAR = Path("/work/shared/data/cifar10/train")


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


def time_signature(predict, reference, batch_size: int, device) -> tuple[Timer, zest.Signature]:
    with Timer(device) as timer:
        signature = zest.compute_signature(
            predict, reference, batch_size=batch_size, device=device
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


def measure(args, device: torch.device) -> dict:
    from training.models import build_model

    torch.manual_seed(0)
    model = build_model("resnet20", num_classes=10).to(device).eval()
    images, source = load_images(args.n, args.data)
    with Timer(device) as segmenting:
        reference = zest.image_reference(images, mean=MEAN, std=STD, num_samples=args.samples)
    total = args.n * args.samples
    time_queries(model, images, args.batch_size, args.batch_size, device)  # warm-up
    cold, signature = time_signature(model, reference, args.batch_size, device)  # with pinv
    pairs, inside = [], []
    for repeat in range(args.repeats):  # alternate the order to cancel drifts in machine load
        # on CPU, also time the model inside the signature run: a ratio immune to machine load
        timed = TimedModel(model, device) if device.type == "cpu" else model
        if repeat % 2:
            s, _ = time_signature(timed, reference, args.batch_size, device)
            q = time_queries(model, images, total, args.batch_size, device)
        else:
            q = time_queries(model, images, total, args.batch_size, device)
            s, _ = time_signature(timed, reference, args.batch_size, device)
        pairs.append((q, s))
        if timed is not model:
            inside.append((s.wall / timed.wall, s.cpu / timed.cpu))
    null, _ = time_signature(
        lambda x: x.new_zeros(len(x), 10), reference, args.batch_size, device
    )  # zest's own work: perturbations and solves, no model
    lime = time_lime(model, reference, args.lime_points, args.lime_batch_size, device)
    ours = signature.weights[: int(reference.offsets[args.lime_points])]
    gap = np.abs(lime["weights"] - ours).max() / np.abs(ours).max()
    return dict(
        source=source,
        reference=reference,
        segmenting=segmenting,
        inside=inside,
        cold=cold,
        pairs=pairs,
        null=null,
        lime=lime,
        gap=gap,
        images=images,
    )


def report(args, device: torch.device, m: dict) -> None:
    n, k = args.n, m["reference"].num_features
    median = lambda values: float(np.median(values))  # noqa: E731
    q = {c: median([getattr(p[0], c) for p in m["pairs"]]) for c in ("wall", "cpu")}
    s = {c: median([getattr(p[1], c) for p in m["pairs"]]) for c in ("wall", "cpu")}
    ratio = {c: median([getattr(p[1], c) / getattr(p[0], c) for p in m["pairs"]]) for c in q}
    lime, points = m["lime"], args.lime_points
    lime_ratio = {c: getattr(lime["timer"], c) / points / (q[c] / n) for c in q}
    print(f"device {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"ResNet20 (random init), {m['source']}")
    print(
        f"N = {n} reference points, L = {args.samples} perturbations "
        f"({n * args.samples} queries), batch size {args.batch_size}, {args.repeats} repeats"
    )
    print(
        f"superpixels K: min {k.min()}, mean {k.mean():.1f}, max {k.max()}; segmentation + "
        f"masks {m['segmenting'].wall:.2f} s (once per reference)"
    )
    print()
    print(f"{'':44s}{'wall s':>9s}{'s/point':>9s}{'ratio':>7s}{'cpu s':>9s}{'ratio':>7s}")
    rows = [
        ("model queries alone (N*L forwards)", q["wall"], q["cpu"], 1.0, 1.0),
        ("zest signature (pinv cached)", s["wall"], s["cpu"], ratio["wall"], ratio["cpu"]),
        (
            "zest signature, first call (incl. pinv)",
            m["cold"].wall,
            m["cold"].cpu,
            m["cold"].wall / q["wall"],
            m["cold"].cpu / q["cpu"],
        ),
        (
            "zest alone, null model (perturb + solve)",
            m["null"].wall,
            m["null"].cpu,
            m["null"].wall / q["wall"],
            m["null"].cpu / q["cpu"],
        ),
    ]
    for name, wall, cpu, r_wall, r_cpu in rows:
        print(f"{name:44s}{wall:9.3f}{wall / n:9.4f}{r_wall:7.3f}{cpu:9.3f}{r_cpu:7.3f}")
    lime_rows = [
        (f"lime, {points} points", lime["timer"].wall, lime["timer"].cpu, lime_ratio),
        (
            f"  of which its queries (batch {args.lime_batch_size})",
            lime["queries"]["wall"],
            lime["queries"]["cpu"],
            {c: lime["queries"][c] / points / (q[c] / n) for c in q},
        ),
    ]
    for name, wall, cpu, r in lime_rows:
        per_point = wall / points
        print(f"{name:44s}{wall:9.3f}{per_point:9.4f}{r['wall']:7.3f}{cpu:9.3f}{r['cpu']:7.3f}")
    print("(ratios: time per point / queries-only time per point)")
    if m["inside"]:
        wall, cpu = (median([r[j] for r in m["inside"]]) for j in (0, 1))
        print(
            f"zest signature / its own model time in the same run: {wall:.3f} wall, {cpu:.3f} cpu"
        )
    print()
    speedup = lime["timer"].wall / points / (s["wall"] / n)
    print(
        f"zest speed-up over lime per point: {speedup:.1f}x wall "
        f"({lime['timer'].cpu / points / (s['cpu'] / n):.1f}x cpu)"
    )
    print(f"lime vs zest weights on the explained points, max |diff| / max |w|: {m['gap']:.1e}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    everything = n * args.samples * m["images"][0].numel() * 4 / 2**20
    memory = f"peak RSS {rss:.0f} MiB"
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        memory += f", CUDA peak allocated {peak:.0f} MiB"
    print(f"memory: {memory} (all N*L perturbed images at once would be {everything:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=16, help="reference points N")
    parser.add_argument("--samples", type=int, default=1000, help="perturbations per point L")
    parser.add_argument("--batch-size", type=int, default=None, help="default 256 CPU, 8192 GPU")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--lime-points", type=int, default=4, help="points explained by lime")
    parser.add_argument("--lime-batch-size", type=int, default=10, help="lime's query batch")
    parser.add_argument("--repeats", type=int, default=3, help="paired timing repetitions")
    parser.add_argument("--data", type=Path, default=CIFAR, help="CIFAR-10 train folder")
    args = parser.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    args.batch_size = args.batch_size or (256 if device.type == "cpu" else 8192)
    args.lime_points = min(args.lime_points, args.n)
    report(args, device, measure(args, device))


if __name__ == "__main__":
    main()
