"""Benchmark `zest.compute_signature` against the bare model queries and the `lime` package.

For a CIFAR ResNet20 (random initialization, BatchNorm statistics as initialized; timings do not
depend on the weights) it prints:
  1. the query floor: the same N * L model queries alone, in the default memory layout (NCHW) at
     `--floor-batch-size` (256: what signatures used before the layout work);
  2. signature time / that floor, for the signature as the apps compute it (the model with its
     BatchNorms folded, `zest.fold_batchnorm`; zest's default batch size and memory layout for
     the device) -- goal at most 0.6 on CPU -- and for the signature as it was computed before
     (unfolded model, NCHW, batch 256), so one run gives before and after;
  3. the same ratio for `lime.lime_image.LimeImageExplainer` computing the same per-image
     surrogates on the unfolded model, and zest's speed-up over it (goal on GPU: >= 20x);
  4. peak memory (process RSS; CUDA peak allocation on GPU).

LIME is configured as close to reference mode as it allows: our segments, hide_color=0 (masked
superpixels at 0 in normalized space), all 10 labels, a constant kernel (no sample weights),
`LinearRegression(fit_intercept=False)` (OLS without intercept), no feature selection, and its
default query batch of 10. So configured it computes exactly the reference-mode surrogates, which
the script checks on the explained points.

Queries-only and signature runs alternate `--repeats` times; the ratio is the median of the paired
ratios. On CPU the table also gives process CPU time, which a busy shared machine disturbs less
than wall-clock time. Without the `lime` package (or with `--no-lime`) the lime rows are skipped,
with a note.

`--sweep` measures something else, alone: the images/s of the folded ResNet20 (what the apps
query) per query batch size, with NCHW and with channels-last input batches (the layouts
`compute_signature(memory_format=...)` gives), fp32: the measurement behind zest's per-device
defaults (`zest.signature.DEFAULT_BATCH_SIZE`; channels-last on CPU, NCHW on GPUs).

    python benchmarks/bench_signature.py                       # CPU, N=16, L=1000 (~2 min)
    python benchmarks/bench_signature.py --device cuda --n 128 --batch-size 8192 --repeats 5
    python benchmarks/bench_signature.py --device cuda --sweep    # batch 256 to 8192
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


def sweep(args, device: torch.device) -> None:
    """Images/s of the folded ResNet20 per batch size and input layout (best of `--repeats`)."""
    from training.models import build_model

    torch.manual_seed(0)
    model = zest.fold_batchnorm(build_model("resnet20", num_classes=10).to(device).eval())
    default = "16,64,256" if device.type == "cpu" else "256,1024,2048,4096,8192"
    sizes = [int(b) for b in (args.sweep if args.sweep != "default" else default).split(",")]
    layouts = {"NCHW": torch.contiguous_format, "channels-last": torch.channels_last}
    print(f"device {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(
        f"ResNet20 (random init, BatchNorm folded) inference, fp32, random inputs; images/s, best "
        f"of {args.repeats}; about {args.sweep_images} images per measurement"
    )
    best = {}
    for batch_size in sizes:
        images = torch.randn(batch_size, 3, 32, 32, device=device)
        calls = max(1, args.sweep_images // batch_size)
        for name, layout in layouts.items():
            batch = images.contiguous(memory_format=layout)
            with torch.no_grad():
                model(batch)  # warm-up (cuDNN picks its kernels for this shape)
                times = []
                for _ in range(args.repeats):
                    with Timer(device) as timer:
                        for _ in range(calls):
                            model(batch)
                    times.append(timer.wall)
            rate = calls * batch_size / min(times)
            best[(batch_size, name)] = rate
            print(f"  batch {batch_size:6d}  {name:<14s}{rate:12.0f} images/s")
    fastest = max(best, key=best.get)
    default_batch = zest.signature.DEFAULT_BATCH_SIZE.get(
        device.type, zest.signature.DEFAULT_BATCH_SIZE_ACCELERATOR
    )
    default_layout = "channels-last" if device.type == "cpu" else "NCHW"
    print(
        f"fastest: batch {fastest[0]}, {fastest[1]} ({best[fastest]:.0f} images/s); zest's "
        f"default on {device.type}: batch {default_batch}, {default_layout}"
        + (
            f" ({best[(default_batch, default_layout)]:.0f} images/s)"
            if (default_batch, default_layout) in best
            else " (not in this sweep)"
        )
    )


def measure(args, device: torch.device) -> dict:
    from training.models import build_model

    torch.manual_seed(0)
    model = build_model("resnet20", num_classes=10).to(device).eval()
    images, source = load_images(args.n, args.data)
    with Timer(device) as segmenting:
        reference = zest.image_reference(images, mean=MEAN, std=STD, num_samples=args.samples)
    total, floor_batch = args.n * args.samples, args.floor_batch_size
    folded = zest.fold_batchnorm(model)  # what the apps query (experiments.common)
    time_queries(model, images, floor_batch, floor_batch, device)  # warm-up
    cold, signature = time_signature(folded, reference, args.batch_size, device)  # with pinv
    pairs, inside, before = [], [], []
    for repeat in range(args.repeats):  # alternate the order to cancel drifts in machine load
        # on CPU, also time the model inside the signature run: a ratio immune to machine load
        timed = TimedModel(folded, device) if device.type == "cpu" else folded
        if repeat % 2:
            s, _ = time_signature(timed, reference, args.batch_size, device)
            q = time_queries(model, images, total, floor_batch, device)
        else:
            q = time_queries(model, images, total, floor_batch, device)
            s, _ = time_signature(timed, reference, args.batch_size, device)
        pairs.append((q, s))
        if timed is not folded:
            inside.append((s.wall / timed.wall, s.cpu / timed.cpu))
        old, old_signature = time_signature(model, reference, 256, device, "contiguous")
        before.append((q, old))
    drift = np.linalg.norm(signature.weights - old_signature.weights)
    drift /= np.linalg.norm(old_signature.weights)
    null, _ = time_signature(
        lambda x: x.new_zeros(len(x), 10), reference, args.batch_size, device
    )  # zest's own work: perturbations and solves, no model
    lime, gap = None, None
    if not args.no_lime:
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
        before=before,
        drift=drift,
    )


def report(args, device: torch.device, m: dict) -> None:
    n, k = args.n, m["reference"].num_features
    median = lambda values: float(np.median(values))  # noqa: E731
    q = {c: median([getattr(p[0], c) for p in m["pairs"]]) for c in ("wall", "cpu")}
    s = {c: median([getattr(p[1], c) for p in m["pairs"]]) for c in ("wall", "cpu")}
    ratio = {c: median([getattr(p[1], c) / getattr(p[0], c) for p in m["pairs"]]) for c in q}
    lime, points = m["lime"], args.lime_points
    print(f"device {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"ResNet20 (random init), {m['source']}")
    batch = args.batch_size or zest.signature.DEFAULT_BATCH_SIZE.get(
        device.type, zest.signature.DEFAULT_BATCH_SIZE_ACCELERATOR
    )
    print(
        f"N = {n} reference points, L = {args.samples} perturbations "
        f"({n * args.samples} queries), {args.repeats} repeats; signature batch {batch} "
        f"(layout: zest's default on {device.type}), BatchNorm folded; query floor: NCHW, "
        f"batch {args.floor_batch_size}, unfolded"
    )
    print(
        f"superpixels K: min {k.min()}, mean {k.mean():.1f}, max {k.max()}; segmentation + "
        f"masks {m['segmenting'].wall:.2f} s (once per reference)"
    )
    print()
    print(f"{'':44s}{'wall s':>9s}{'s/point':>9s}{'ratio':>7s}{'cpu s':>9s}{'ratio':>7s}")
    b = {c: median([getattr(p[1], c) for p in m["before"]]) for c in ("wall", "cpu")}
    b_ratio = {c: median([getattr(p[1], c) / getattr(p[0], c) for p in m["before"]]) for c in q}
    rows = [
        ("query floor (N*L forwards, NCHW, unfolded)", q["wall"], q["cpu"], 1.0, 1.0),
        ("zest signature (pinv cached)", s["wall"], s["cpu"], ratio["wall"], ratio["cpu"]),
        (
            "zest signature as before (NCHW, 256)",
            b["wall"],
            b["cpu"],
            b_ratio["wall"],
            b_ratio["cpu"],
        ),
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
    lime_rows = []
    if lime is not None:
        lime_ratio = {c: getattr(lime["timer"], c) / points / (q[c] / n) for c in q}
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
    print(
        "(ratios: time per point / query-floor time per point; goal for the signature on CPU:"
        " at most 0.6)"
    )
    print(
        f"signature now / as before: {s['wall'] / b['wall']:.3f} wall, {s['cpu'] / b['cpu']:.3f} "
        f"cpu; relative difference of the signatures {m['drift']:.1e} (goal < 1e-6)"
    )
    if m["inside"]:
        wall, cpu = (median([r[j] for r in m["inside"]]) for j in (0, 1))
        print(
            f"zest signature / its own model time in the same run: {wall:.3f} wall, {cpu:.3f} cpu"
        )
    print()
    if lime is None:
        print(f"lime: skipped ({args.no_lime}); no speed-up over lime measured")
    else:
        speedup = lime["timer"].wall / points / (s["wall"] / n)
        print(
            f"zest speed-up over lime per point: {speedup:.1f}x wall "
            f"({lime['timer'].cpu / points / (s['cpu'] / n):.1f}x cpu; goal on GPU: >= 20x)"
        )
        print(
            f"lime vs zest weights on the explained points, max |diff| / max |w|: {m['gap']:.1e}"
        )
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
    parser.add_argument(
        "--batch-size", type=int, default=None, help="signature batch (default: zest's)"
    )
    parser.add_argument(
        "--floor-batch-size", type=int, default=None, help="query floor batch (256 CPU, 8192 GPU)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--lime-points", type=int, default=4, help="points explained by lime")
    parser.add_argument("--lime-batch-size", type=int, default=10, help="lime's query batch")
    parser.add_argument("--repeats", type=int, default=3, help="paired timing repetitions")
    parser.add_argument("--data", type=Path, default=CIFAR, help="CIFAR-10 train folder")
    parser.add_argument("--no-lime", action="store_true", help="skip the lime rows")
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="default",
        metavar="B1,B2,...",
        help="only time inference per batch size and layout (default 16,64,256 CPU; "
        "256,1024,2048,4096,8192 GPU)",
    )
    parser.add_argument(
        "--sweep-images", type=int, default=32768, help="images per sweep measurement"
    )
    args = parser.parse_args()
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    if args.sweep:
        sweep(args, device)
        return
    if args.no_lime:
        args.no_lime = "--no-lime"
    else:
        try:
            import lime.lime_image  # noqa: F401
        except ImportError as exc:
            print(f"lime not installed: skipped (the lime rows and the speed-up over lime; {exc})")
            args.no_lime = "lime not installed"
    args.floor_batch_size = args.floor_batch_size or (256 if device.type == "cpu" else 8192)
    args.lime_points = min(args.lime_points, args.n)
    report(args, device, measure(args, device))


if __name__ == "__main__":
    main()
