"""Shared helpers of the tests of figures/ (no tests here): synthetic result tables and the CLI.

The tables built here are TEST FIXTURES in the format of docs/architecture.md ("Result tables",
"Section 5"), with made-up numbers; they are not results. Columns come from the studies
(``columns``: what each study writes), so the fixtures hold what the figures will be given.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from core.datasets import DATASETS
from experiments.studies import STUDIES
from figures.render import main
from figures.spec import OUTPUTS

SCALES = {"cosine": 0.4, "l1": 900.0, "l2": 30.0}
EPOCH_ROW = ["dataset", "metric", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "t", "k"]
SUSPECT_ROW = ["dataset", "metric", "relation", "kind", "victim_seed", "seed_b", "epoch_b"]
VERDICT_ROW = ["dataset", "suspect", "victim_seed", "seed_b", "epoch_b", "metric", "distance"]
VERDICT_ROW += ["relative", "p_value", "ci_low", "ci_high", "n_independent"]
EXTRACTION_KINDS = ("extract-labels", "extract-outputs")


def columns(study: str, table: str = "distances") -> tuple[str, ...]:
    """The columns ``study`` writes in ``table`` (its side of the contract)."""
    return tuple(STUDIES[study].tables[table])


# --- section 4 ----------------------------------------------------------------------------------
def with_relative(df: pd.DataFrame, relation: str) -> pd.DataFrame:
    """``relative`` = value / mean value of the ``relation`` rows of the same metric."""
    base = df[df.relation == relation].groupby("metric")["value"].mean()
    return df.assign(relative=df["value"] / df["metric"].map(base))


def fake_epochs(dataset, seeds=(0, 1, 2), last=40, step=2, ks=(1, 5, 10, 20), rng_seed=0):
    """Distances that shrink with training; related ones grow with k (made-up, smooth + noise)."""
    rng = np.random.default_rng(rng_seed)
    epochs = list(range(0, last + 1, step))
    rows = []
    for metric, scale in SCALES.items():
        for s, t in itertools.product(seeds, epochs):
            for k in (k for k in ks if t + k <= last):
                d = scale * (0.02 + 0.25 * k / 20) * math.exp(-t / 15) * (1 + 0.1 * rng.normal())
                rows.append([dataset, metric, "related", s, t, s, t + k, t, k, abs(d)])
        for (a, b), t in itertools.product(itertools.combinations(seeds, 2), epochs):
            d = scale * (1.0 + 1.5 * math.exp(-t / 10)) * (1 + 0.05 * rng.normal())
            rows.append([dataset, metric, "unrelated", a, t, b, t, t, 0, d])
        for a, b in itertools.combinations(seeds, 2):
            d = scale * (1 + 0.05 * rng.normal())
            rows.append([dataset, metric, "baseline", a, last, b, last, last, 0, d])
    df = with_relative(pd.DataFrame(rows, columns=[*EPOCH_ROW, "value"]), "baseline")
    return df[list(columns("epochs"))]


def fake_refsize(dataset, seeds=(0, 1, 2), repeats=4, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    rows = []
    for (a, b), s, size, r in itertools.product(
        [(100, 200), (190, 200)], seeds, [1, 2, 4, 8, 16, 32, 64, 128], range(repeats)
    ):
        centre = 0.3 if a == 100 else 0.02
        spread = (0.3 if a == 100 else 0.01) / math.sqrt(size)
        v = abs(centre + spread * rng.normal())
        rows.append([dataset, "cosine", f"{a}-{b}", s, a, b, size, r, v * 0.4, v])
    cols = ["dataset", "metric", "pair", "seed", "epoch_a", "epoch_b", "size", "repeat"]
    return pd.DataFrame(rows, columns=[*cols, "value", "relative"])[list(columns("refsize"))]


def fake_agreement(dataset, related=(0.93, 0.94, 0.95), unrelated=(0.90, 0.91, 0.92)):
    rows = []
    for n in (128, 1280):
        for s, a in enumerate(related):
            rows.append([dataset, "related", s, 100, s, 200, n, a])
        for (a, b), v in zip(itertools.combinations(range(3), 2), unrelated, strict=True):
            rows.append([dataset, "unrelated", a, 200, b, 200, n, v])
    cols = ["dataset", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "num_points"]
    return pd.DataFrame(rows, columns=[*cols, "agreement"])[list(columns("agreement"))]


def write_metrics(root: Path, dataset: str, arch: str, accs, epochs=3) -> list[Path]:
    paths = []
    for seed, acc in enumerate(accs):
        path = root / "models" / dataset / arch / "standard" / f"seed{seed}" / "metrics.json"
        path.parent.mkdir(parents=True)
        log = [{"epoch": e, "test_accuracy": acc - 0.1 * (epochs - e), "train_loss": 1.0}
               for e in range(1, epochs + 1)]  # fmt: skip
        path.write_text(json.dumps({"seed": seed, "finished": True, "history": log}))
        paths.append(path)
    return paths


# --- section 5 ----------------------------------------------------------------------------------
def suspect_table(rows: list[list], accuracies: dict | None = None) -> pd.DataFrame:
    """Rows (dataset, metric, relation, kind, victim_seed, seed_b, epoch_b, value) with the
    study's columns: relative, closer_percent, and ``accuracies`` {kind: (test, forget)} of
    model b (NaN without), broken at or below the registry's threshold."""
    df = with_relative(pd.DataFrame(rows, columns=[*SUSPECT_ROW, "value"]), "unrelated")
    acc = accuracies or {}
    test = df["kind"].map(lambda k: acc.get(k, (math.nan, math.nan))[0]).astype(float)
    limit = df["dataset"].map(lambda d: DATASETS[d].broken_below)
    return df.assign(
        closer_percent=100 * (1 - df["relative"]),
        test_accuracy=test,
        forget_accuracy=df["kind"].map(lambda k: acc.get(k, (math.nan, math.nan))[1]),
        broken=test.le(limit) & test.notna(),
        target_disagreement=math.nan,
    )[list(columns("extraction"))]


def _unrelated_rows(dataset, metric, victims, scale, rng, last):
    return [
        [dataset, metric, "unrelated", "standard", v, o, last, scale * (1 + 0.05 * rng.normal())]
        for v, o in itertools.permutations(victims, 2)
    ]


def fake_extraction(dataset, victims=(0, 1, 2), epochs=(0, 5, 10, 15, 20), final=(0.8, 0.6)):
    """Copies approach the victim over their training: relative ~ 1.6 at epoch 0 -> ``final``."""
    rng = np.random.default_rng(len(dataset))
    rows = []
    for metric, scale in SCALES.items():
        rows += _unrelated_rows(dataset, metric, victims, scale, rng, 20)
        for (kind, end), v, e in itertools.product(
            zip(EXTRACTION_KINDS, final, strict=True), victims, epochs
        ):
            frac = e / epochs[-1]
            d = scale * (1.6 * (1 - frac) + end * frac) * (1 + 0.04 * rng.normal())
            rows.append([dataset, metric, "suspect", kind, v, v + 100, e, d])
    return suspect_table(rows)


UNLEARNED_ACCURACY = {"unlearn-exact": (0.92, 0.90), "unlearn-amnesiac": (0.10, 0.10)}


def fake_unlearning(dataset, victims=(0, 1, 2), exact=2.4, amnesiac=0.02):
    """Exactly unlearned models far, amnesiac ones at distance ~0 but broken (test 10 %)."""
    rng = np.random.default_rng(len(dataset) + 1)
    rows = []
    for metric, scale in SCALES.items():
        rows += _unrelated_rows(dataset, metric, victims, scale, rng, 20)
        for v in victims:
            for kind, rel in (("unlearn-exact", exact), ("unlearn-amnesiac", amnesiac)):
                d = scale * rel * (1 + 0.05 * rng.normal())
                rows.append([dataset, metric, "suspect", kind, v, v, 20, d])
    return suspect_table(rows, UNLEARNED_ACCURACY)


def fake_verdicts(dataset):
    """Four verdicts: a copy whose CI excludes 1 and one whose CI includes it, exact and amnesiac
    unlearning (p_further: the other tail of p_value over 3 pairs)."""
    rows = [
        [dataset, "extract-labels", 0, 100, 20, "cosine", 0.25, 0.62, 0.25, 0.55, 0.70, 3],
        [dataset, "extract-labels", 1, 101, 20, "cosine", 0.38, 0.96, 0.5, 0.80, 1.10, 3],
        [dataset, "unlearn-exact", 0, 0, 20, "cosine", 0.9, 2.3, 1.0, 2.0, 2.6, 3],
        [dataset, "unlearn-amnesiac", 0, 0, 20, "cosine", 0.01, 0.02, 0.25, 0.01, 0.03, 3],
    ]
    df = pd.DataFrame(rows, columns=VERDICT_ROW)
    excludes = (df["ci_high"] < 1) | (df["ci_low"] > 1)
    df = df.assign(
        related=df["relative"] < 1, ci_excludes_1=excludes, p_further=1.25 - df["p_value"]
    )
    df = df.assign(victim_train_accuracy=0.99, victim_forget_accuracy=1.0,
                   victim_test_accuracy=0.9, untestable="")  # fmt: skip
    return df[list(columns("extraction", "verdicts"))]


# --- files and the command line -----------------------------------------------------------------
def write_tsv(df: pd.DataFrame, root: Path, dataset: str, study: str, table="distances") -> Path:
    refset = "train-first" if study == "unlearning" else "default"
    path = root / table / dataset / refset / f"{study}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False)
    return path


def write_results(root: Path) -> dict[tuple[str, str], list[Path]]:
    """Every table, keyed by (study, table): CIFAR-100 missing (as at the small scales); epochs
    tables also for AG News and Speech Commands; runs: metrics.json of CIFAR-10."""
    epochs = ("cifar10", "ag_news", "speech_commands")
    return {
        ("epochs", "distances"): [write_tsv(fake_epochs(d, rng_seed=i), root, d, "epochs")
                                  for i, d in enumerate(epochs)],
        ("refsize", "distances"): [write_tsv(fake_refsize("cifar10"), root, "cifar10", "refsize")],
        ("agreement", "distances"): [
            write_tsv(fake_agreement("cifar10"), root, "cifar10", "agreement")],
        ("extraction", "distances"): [
            write_tsv(fake_extraction("cifar10"), root, "cifar10", "extraction")],
        ("unlearning", "distances"): [
            write_tsv(fake_unlearning("cifar10"), root, "cifar10", "unlearning")],
        **{(study, "verdicts"): [write_tsv(fake_verdicts("cifar10"), root, "cifar10", study,
                                           "verdicts")] for study in ("extraction", "unlearning")},
        ("runs", "distances"): write_metrics(root, "cifar10", "resnet20", [0.90, 0.92, 0.94]),
    }  # fmt: skip


def inputs_for(name: str, results) -> dict[str, list[Path]]:
    """{role: paths} of output ``name``: what its spec reads, from ``write_results``."""
    return {role: results.get((r.study, r.table), []) for role, r in OUTPUTS[name].reads.items()}


def cli(name: str, out: Path, inputs: dict[str, list[Path]], *options: str) -> int:
    """``python -m figures.render NAME --out OUT --ROLE FILE ... OPTIONS`` through ``main``."""
    argv = [name, "--out", str(out)]
    for role, paths in inputs.items():
        argv += [f"--{role}", *map(str, paths)]
    return main([*argv, *options])


def assert_figure(stem: Path) -> None:
    pdf, png = stem.with_name(stem.name + ".pdf"), stem.with_name(stem.name + ".png")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert not list(stem.parent.glob(".*")), "temporary files left behind"
