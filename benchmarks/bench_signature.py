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
with a note. The timed runs are in `signature_timing.py`, the printed report in
`signature_report.py`.

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
from pathlib import Path

import numpy as np
import torch
from signature_report import report  # benchmarks/ is on sys.path when this script runs
from signature_timing import (
    MEAN,
    STD,
    TimedModel,
    Timer,
    load_images,
    time_lime,
    time_queries,
    time_signature,
)

import zest

# the real CIFAR-10 subset beside the repository (../shared/data), as the mini scale reads it
CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10" / "train"


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
