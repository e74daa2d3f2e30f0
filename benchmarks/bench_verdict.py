"""Benchmark `zest.verdict` and `zest.distance` on signatures of the paper's sizes.

Prints, for random signatures (timings do not depend on the values; N = 128 reference points with
K_i of 5-40 superpixels, as on CIFAR):
  1. one verdict (class alignment `greedy`, cosine) against `--pairs` independent pairs with
     `--bootstrap` replicates, at C = 10 and C = 100 classes (goal for C = 100, 10 pairs, 1,000
     replicates: at most 2 s on 2 cores);
  2. all pairwise distances of `--models` models (C = 10), the table a study of that many models
     computes.

    python benchmarks/bench_verdict.py                          # C = 10 and 100, 10 pairs, 1,000
    python benchmarks/bench_verdict.py --bootstrap 100 --models 30   # a quicker look
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import zest
from zest import Signature


def random_signature(rng: np.random.Generator, offsets: np.ndarray, classes: int) -> Signature:
    weights = rng.standard_normal((int(offsets[-1]), classes))
    return Signature(weights=weights, offsets=offsets, reference_id="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=128, help="N reference points")
    parser.add_argument("--pairs", type=int, default=10, help="independent pairs of a verdict")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument(
        "--models", type=int, default=100, help="models for all pairwise distances"
    )
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 100])
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    offsets = np.concatenate([[0], np.cumsum(rng.integers(5, 41, args.points))]).astype(np.int64)
    print(f"N = {args.points} points, {offsets[-1]} weight rows; numpy {np.__version__}")
    print(f"{'what':<58}{'seconds':>9}")
    for classes in args.classes:
        sigs = [random_signature(rng, offsets, classes) for _ in range(2 + 2 * args.pairs)]
        pairs = list(zip(sigs[2::2], sigs[3::2], strict=True))
        start = time.perf_counter()
        result = zest.verdict(sigs[0], sigs[1], pairs, n_bootstrap=args.bootstrap)
        took = time.perf_counter() - start
        what = f"verdict, C = {classes}, {args.pairs} pairs, {args.bootstrap} replicates"
        print(f"{what:<58}{took:>9.2f}   (relative distance {result.relative_distance:.3f})")
    models = [random_signature(rng, offsets, 10) for _ in range(args.models)]
    start = time.perf_counter()
    n_pairs = 0
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            zest.distance(a, b)
            n_pairs += 1
    took = time.perf_counter() - start
    print(
        f"{f'all pairwise distances of {args.models} models ({n_pairs} pairs, C = 10)':<58}{took:>9.2f}"
    )


if __name__ == "__main__":
    main()
