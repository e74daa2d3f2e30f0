"""What `bench_signature.py` prints from its measurements: the set-up, the table of times and
ratios to the query floor, the speed-up over `lime` and the peak memory."""

from __future__ import annotations

import resource

import numpy as np
import torch

import zest


def median(values) -> float:
    return float(np.median(values))


def report(args, device: torch.device, m: dict) -> None:
    """Print the measurements `m` of `bench_signature.measure`."""
    q = {c: median([getattr(p[0], c) for p in m["pairs"]]) for c in ("wall", "cpu")}
    s = {c: median([getattr(p[1], c) for p in m["pairs"]]) for c in ("wall", "cpu")}
    ratio = {c: median([getattr(p[1], c) / getattr(p[0], c) for p in m["pairs"]]) for c in q}
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
    print_setup(args, device, m)
    print_table(args, m, q, rows)
    print_summary(args, device, m, s, b)


def print_setup(args, device: torch.device, m: dict) -> None:
    """The device, model, sizes and reference set, then the table's header."""
    n, k = args.n, m["reference"].num_features
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


def print_table(args, m: dict, q: dict, rows: list[tuple]) -> None:
    """The zest `rows` (name, wall, cpu, their ratios to the floor), then lime's if measured."""
    n, lime, points = args.n, m["lime"], args.lime_points
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


def print_summary(args, device: torch.device, m: dict, s: dict, b: dict) -> None:
    """Now against before, zest against its own model time and against lime, peak memory."""
    n, lime, points = args.n, m["lime"], args.lime_points
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
