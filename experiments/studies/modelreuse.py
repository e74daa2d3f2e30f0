"""ModelReuse (paper Tables 1 and 5): Zest against ModelDiff on ModelDiff's reuse benchmark.

A *benchmark-scope* study (``Study.scope``): it does not read the seed-replicated runs of one
dataset but a zoo of models built by transformation chains (``training/reuse/``: a root, then
transfer, prune, quantize, distill, steal), and scores the 144 positive pairs of the benchmark
(``training.reuse.zoo.positive_pairs``) with both methods, against the same negatives:

- Zest: the distance from the source P to the suspect C on the reference set of C's dataset D,
  and from P to each *same-task negative* N (a model on D of another root); relative distance =
  d(P, C) / mean d(P, N) (``zest.reference_rule``, see ``RULES``). The paper's rule: related
  when the relative distance is < 1.
- ModelDiff: the cosine distance of decision-distance vectors on C's adversarial inputs, from C
  to P and to each reference model (``modeldiff.refs``); the notebook's rule: related when P is
  closer than every reference.

Tables (the contract the figures read):

- ``distances``: every scored distance, long format: one ``positive`` row per (method, metric,
  positive pair) and one ``negative`` row per negative model compared with it.
- ``verdicts``: one row per (method, metric, positive pair): the relative distance under each
  normalisation, the nearest negative, the empirical p-value and both decision rules.
- ``detection``: one row per (task or ``Overall``, method, metric): ROC AUC and TPR (%) at FPR
  <= 5 % of the positive pairs' distances against the same-task negatives' (``zest.detection``).

``compute`` is pure: distances come from an ``Inputs`` object (the app reads them from the
signature files and the ModelDiff tables; the tests hand-make them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import pandas as pd

from experiments.config import DistanceConfig, ReferenceConfig, SignatureConfig
from experiments.studies.base import Context, Study
from experiments.studies.modelreuse_scores import (
    DETECTION_COLUMNS,
    detection_table,
    mean,
    verdict,
)
from training.reuse.chain import OPS as CHAIN_OPS
from training.reuse.chain import Chain
from training.reuse.zoo import (
    Zoo,
    generator_of,
    list_models,
    modeldiff_references,
    positive_pairs,
    retrained,
    same_task_negatives,
)
from training.reuse.zoo import problems as zoo_problems

DISTANCE_COLUMNS = ("method", "metric", "task", "subtask", "source", "suspect", "dataset",
                    "anchor", "other", "role", "same_task", "distance")  # fmt: skip
VERDICT_COLUMNS = ("method", "metric", "task", "subtask", "source", "suspect", "dataset",
                   "distance", "n_negatives", "reference", "relative", "nearest_negative",
                   "p_value", "detected_relative", "detected_closest", "reference_rule",
                   "relative_parent", "relative_suspect", "relative_retrained")  # fmt: skip
TABLES = dict(distances=DISTANCE_COLUMNS, verdicts=VERDICT_COLUMNS, detection=DETECTION_COLUMNS)
# Zest's reference distance (spec §5.3; the paper leaves it open for ModelReuse):
RULES = {
    "parent_vs_same_task_negatives": "mean d(P, N) over the suspect's same-task negatives",
    "suspect_vs_negatives": "mean d(C, N) over the same negatives (anchored at the suspect)",
    "retrained_only": "mean d(P, R) over the models trained from scratch on the suspect's data",
}
REFS = ("all", "same_dataset")
ALIGNS = ("greedy", "hungarian", "none", "when_needed")


def alignment(setting: str, a: Chain, b: Chain) -> str | None:
    """The class alignment of one Zest pair under `zest.distance.align` (a zest.distance
    `align`)."""
    if setting == "when_needed":
        return None if a.dataset == b.dataset else "greedy"
    return None if setting == "none" else setting


# --- settings: the plan's `modelreuse_study:` section ---------------------------------------------
@dataclass
class OpBudget:
    """How long and how one op trains (spec §2.4): `steps` (SGD iterations) or `epochs`."""

    steps: int | None = None
    epochs: float | None = None
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-3
    batch_size: int = 64


@dataclass
class ZestSettings:
    """Zest on the benchmark, in the Zest apps' own sections (experiments/config.py): one schema
    for every Zest setting of the project. The benchmark draws `reference.num_points` images per
    target dataset with `reference.seed` (`reference.points` is not read); `distance.align` also
    takes `when_needed` (greedy across label spaces only: same-dataset pairs share their class
    order); `distance.n_bootstrap` is not read (no bootstrap here)."""

    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
    distance: DistanceConfig = field(
        default_factory=lambda: DistanceConfig(metrics=["cosine", "l2"])
    )
    reference_rule: str = "parent_vs_same_task_negatives"  # one of RULES


@dataclass
class ModelDiffOptions:
    n_seeds: int = 100
    eps: float = 0.06
    eps_iter: float = 0.01
    nb_iter: int = 50
    target_scale: float = 1000.0
    variant: str = "notebook"  # notebook | qurd (untargeted PGD at eps 0.03 on the generator)
    generator: str = "suspect"  # suspect (its float parent when quantized) | source
    seed_split: str = "train"  # train | test
    seed_transform: str = "train"  # train | test
    refs: str = "all"  # all (the notebook: every model of another root) | same_dataset


def _paper_budgets() -> dict[str, OpBudget]:
    return {  # spec §2.4: the benchmark's Finetuner settings
        "pretrain": OpBudget(steps=100_000),  # only when no weights are given: see Settings
        "train": OpBudget(steps=100_000),
        "transfer": OpBudget(steps=10_000, lr=5e-3, momentum=0.0, weight_decay=1e-4),
        "prune": OpBudget(steps=10_000, lr=5e-3, momentum=0.0, weight_decay=1e-4),
        "distill": OpBudget(steps=10_000),
        "steal": OpBudget(steps=10_000),
    }


@dataclass
class Settings:
    enabled: bool = True  # false: the scale builds no part of the benchmark
    zoo: Zoo = field(default_factory=Zoo)
    # paper: a folder with flowers-102/ and stanford_dogs/; smoke and mini: a CIFAR-10 root
    # (null: the plan's own cifar10 data)
    data_root: str | None = None
    # arch -> local torchvision ImageNet weights (IMAGENET1K_V1 .pth); no entry: the root is
    # trained on the source dataset with the `pretrain` budget (the mini and smoke stand-in)
    weights: dict[str, str] = field(default_factory=dict)
    root_head: str = "random"  # random (the benchmark: a fresh 1000-way head) | imagenet
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # arch -> {width: 4}
    budgets: dict[str, OpBudget] = field(default_factory=_paper_budgets)
    zest: ZestSettings = field(default_factory=ZestSettings)
    modeldiff: ModelDiffOptions = field(default_factory=ModelDiffOptions)
    seed: int = 98  # the benchmark's global seed; each model's seed derives from its chain


OPS = tuple(op for op in CHAIN_OPS if op != "quantize")  # the ops that train (budgets)
# The settings each step of experiments.modelreuse reads (the pipeline passes only these, so that a
# changed setting reruns only the jobs it changes; the others keep their defaults there, unread).
STEP_SETTINGS = {
    "prepare": ("weights",),
    "import": ("zoo", "modeldiff"),
    "build": ("weights", "root_head", "model_kwargs", "budgets", "seed"),
    "signatures": ("zoo", "zest"),
    "modeldiff": ("zoo", "modeldiff", "seed"),
    "score": ("zoo", "zest", "modeldiff"),
}


def problems(s: Settings) -> list[str]:
    out = [f"zoo.{p}" for p in zoo_problems(s.zoo)]
    if s.zest.reference_rule not in RULES:
        out.append(f"zest.reference_rule must be one of {', '.join(RULES)}")
    r, z = s.zest.reference, s.zest
    if r.num_points < 1 or r.num_samples < 2:
        out.append("zest.reference.num_points must be >= 1 and zest.reference.num_samples >= 2")
    if z.distance.align not in ALIGNS:
        out.append(f"zest.distance.align must be one of {', '.join(ALIGNS)}, got "
                   f"{z.distance.align!r}")  # fmt: skip
    bad = [m for m in z.distance.metrics if m not in ("cosine", "l1", "l2")]
    if bad or not z.distance.metrics:
        out.append(f"zest.distance.metrics must be some of cosine, l1, l2, got "
                   f"{list(z.distance.metrics)}")  # fmt: skip
    md = s.modeldiff
    choices = {"variant": ("notebook", "qurd"), "generator": ("suspect", "source"),
               "seed_split": ("train", "test"), "seed_transform": ("train", "test"), "refs": REFS}  # fmt: skip
    out += [f"modeldiff.{k} must be one of {', '.join(v)}, got {getattr(md, k)!r}"
            for k, v in choices.items() if getattr(md, k) not in v]  # fmt: skip
    if md.n_seeds < 2 or md.nb_iter < 0 or not md.eps > 0:
        out.append("modeldiff needs n_seeds >= 2, nb_iter >= 0 and eps > 0")
    if s.root_head not in ("random", "imagenet"):
        out.append(f"root_head must be random or imagenet, got {s.root_head!r}")
    for op in OPS:
        b = s.budgets.get(op)
        if b is None:
            out.append(f"budgets.{op} is missing")
        elif (b.steps is None) == (b.epochs is None):
            out.append(f"budgets.{op}: set exactly one of steps and epochs")
        elif not (b.lr > 0 and 0 <= b.momentum < 1 and b.weight_decay >= 0 and b.batch_size >= 1):
            out.append(
                f"budgets.{op}: lr > 0, momentum in [0, 1), weight_decay >= 0, batch_size >= 1"
            )
    return out


# --- the pure part: distances in, tables out -------------------------------------------------------
class Inputs(Protocol):
    """The benchmark's distances, read from files by the app (or hand-made by the tests)."""

    def zest(self, dataset: str, a: Chain, b: Chain, metric: str) -> float: ...

    def modeldiff(self, suspect: Chain, other: Chain, generator: Chain) -> float:
        """On the suspect's seeds and the adversarial inputs `generator` made of them."""
        ...


def compute(inputs: Inputs, ctx: Context) -> dict[str, pd.DataFrame]:
    """Score every positive pair of the zoo with both methods (see the module docstring)."""
    s: Settings = ctx.of("modelreuse")
    models = list_models(s.zoo)
    zd = cache(inputs.zest)
    md = cache(inputs.modeldiff)
    rows, verdicts = [], []
    for pair in positive_pairs(s.zoo):
        P, C, D = pair.source, pair.suspect, pair.suspect.dataset
        negs = same_task_negatives(C, models)
        retrain = retrained(D, s.zoo)
        common = dict(task=pair.task, subtask=pair.subtask, source=str(P), suspect=str(C),
                      dataset=D)  # fmt: skip
        for m in s.zest.distance.metrics:
            key = dict(method="zest", metric=m, **common)
            d = zd(D, P, C, m)
            dn = [zd(D, P, N, m) for N in negs]
            rel = {"parent_vs_same_task_negatives": mean(dn),
                   "suspect_vs_negatives": mean([zd(D, C, N, m) for N in negs]),
                   "retrained_only": mean([zd(D, P, R, m) for R in retrain])}  # fmt: skip
            rule = s.zest.reference_rule
            verdicts.append(verdict(key, d, dn, rel[rule], reference_rule=rule,
                                     relative_parent=d / rel["parent_vs_same_task_negatives"],
                                     relative_suspect=d / rel["suspect_vs_negatives"],
                                     relative_retrained=d / rel["retrained_only"]))  # fmt: skip
            rows.append(dict(key, anchor=str(P), other=str(C), role="positive", same_task=True,
                             distance=d))  # fmt: skip
            rows += [dict(key, anchor=str(P), other=str(N), role="negative", same_task=True,
                          distance=x) for N, x in zip(negs, dn, strict=True)]  # fmt: skip
        key = dict(method="modeldiff", metric="ddv", **common)
        refs = modeldiff_references(C, models, s.modeldiff.refs)
        gen = generator_of(C) if s.modeldiff.generator == "suspect" else P
        d = md(C, P, gen)
        dr = [md(C, N, gen) for N in refs]
        same = set(negs)
        d_same = [x for N, x in zip(refs, dr, strict=True) if N in same]
        verdicts.append(verdict(key, d, dr, mean(dr), reference_rule=f"refs_{s.modeldiff.refs}",
                                 relative_parent=math.nan,
                                 relative_suspect=d / mean(d_same),
                                 relative_retrained=d / mean([md(C, R, gen) for R in retrain])))  # fmt: skip
        rows.append(dict(key, anchor=str(C), other=str(P), role="positive", same_task=True,
                         distance=d))  # fmt: skip
        rows += [dict(key, anchor=str(C), other=str(N), role="negative", same_task=N in same,
                      distance=x) for N, x in zip(refs, dr, strict=True)]  # fmt: skip
    distances = pd.DataFrame(rows, columns=list(DISTANCE_COLUMNS))
    return {"distances": distances, "detection": detection_table(distances),
            "verdicts": pd.DataFrame(verdicts, columns=list(VERDICT_COLUMNS))}  # fmt: skip


def _no_reads(ctx: Context) -> list:
    return []  # the benchmark's files come from its own rules (pipeline/rules/modelreuse.smk)


STUDY = Study("modelreuse", Settings, TABLES, _no_reads, compute, problems, scope="benchmark",
              summary="ModelReuse benchmark: Zest vs ModelDiff (Tables 1 and 5)")  # fmt: skip
