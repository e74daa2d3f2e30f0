"""Hand-made study inputs: signatures with known geometry, labels, scores and run records.

Seeds are random directions; training moves a model slowly along its own direction; a suspect
(any recipe but `standard`) sits near the model it derives from (its recipe's first parent, else
the standard model of its own seed), so its studies know which pairs are close.
"""

from __future__ import annotations

import zlib

import numpy as np

import zest
from experiments.studies import STUDIES, Context
from training.recipes import Model

POINTS, FEATURES, CLASSES = 4, 3, 5
OFFSETS = np.arange(0, POINTS * FEATURES + 1, FEATURES, dtype=np.int64)
TEST_POINTS = 40


def _origin(model: Model) -> int:
    """The model a suspect derives from: its recipe's first parent's seed, else its own seed."""
    parents = model.recipe.parents(model.seed)
    return parents[0].model.seed if parents else model.seed


def _direction(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


class HandMade:
    """`experiments.studies.base.Inputs` without files."""

    def __init__(self, accuracy: float = 0.6, victim_forget: float = 1.0):
        self.accuracy, self.victim_forget = accuracy, victim_forget

    def signature(self, model: Model, epoch: int) -> zest.Signature:
        shape = (POINTS * FEATURES, CLASSES)
        origin = _origin(model)
        weights = _direction(origin, shape) + 0.01 * epoch * _direction(100 + origin, shape)
        if model.recipe.name != "standard":
            weights = weights + 0.05 * _direction(1000 + model.seed, shape)
        return zest.Signature(weights, OFFSETS, "ref")

    def test_scores(self, model: Model, epoch: int) -> np.ndarray:
        scores = _direction(_origin(model), (TEST_POINTS, CLASSES))
        return scores + 0.1 * _direction(7 * model.seed + epoch + 3, scores.shape)

    def labels(self, model: Model, epoch: int) -> np.ndarray:
        return np.random.default_rng(model.seed + 10 * epoch).integers(0, CLASSES, size=64)

    def metrics(self, model: Model) -> dict:
        history = [{"epoch": e, "test_accuracy": self.accuracy} for e in range(0, 9)]
        if model.recipe.name == "standard":  # the originals of the unlearning study: fit their
            for entry in history:  # forget set
                entry |= {"train_accuracy": 0.9, "forget_accuracy": self.victim_forget}
        out = {"history": history, "test_accuracy": self.accuracy}
        if model.recipe.name.startswith("unlearn"):
            out["forget_accuracy"] = self.accuracy - 0.1
        return out


def context(dataset: str = "cifar10", seeds=(0, 1, 2), final_epoch: int = 4, **changes) -> Context:
    """A small run: N = 4 reference points, every study's default settings, with `changes` as
    {study: {field: value}}."""
    settings = {}
    for name, study in STUDIES.items():
        settings[name] = study.settings(**changes.get(name, {}))
    small = {"epochs": dict(every=2, k=1, k_values=[1, 2]), "refsize": dict(repeats=2)}
    for name, values in small.items():
        if name not in changes:
            settings[name] = STUDIES[name].settings(**values)
    return Context(dataset=dataset, seeds=tuple(seeds), final_epoch=final_epoch,
                   num_points=POINTS, settings=settings, metrics=("cosine", "l2"),
                   align="greedy", n_bootstrap=50)  # fmt: skip


def tables(study: str, dataset: str = "cifar10", **kwargs) -> dict:
    """Every table of `study`, computed from hand-made inputs."""
    return STUDIES[study].compute(HandMade(**kwargs), context(dataset))


# --- the ModelReuse benchmark (a benchmark-scope study) --------------------------------------------
def _noise(*names: str) -> float:
    """A fixed pseudo-random number in [0, 1) of an unordered set of names."""
    return (zlib.crc32("|".join(sorted(names)).encode()) % 1000) / 1000


class HandMadeReuse:
    """`experiments.studies.modelreuse.Inputs` without files: a model is close (0.2-0.5) to its
    ancestors and descendants and far (0.8-1.3) from every other model; a steal is further from
    its teacher under ModelDiff (1.0-1.1, ModelDiff's known blind spot) than under Zest."""

    def _related(self, a, b) -> bool:
        return a.startswith(b) or b.startswith(a)

    def zest(self, dataset, a, b, metric) -> float:
        scale = 2.0 if metric == "l2" else 1.0
        if self._related(a, b):
            return scale * (0.2 + 0.3 * _noise(str(a), str(b), metric))
        return scale * (0.8 + 0.5 * _noise(str(a), str(b), metric))

    def modeldiff(self, suspect, other, generator) -> float:
        stolen = any(op.name == "steal" for op in suspect.ops) and not other.startswith(suspect)
        if self._related(suspect, other) and not stolen:
            return 0.1 + 0.2 * _noise(str(suspect), str(other))
        return 0.8 + 0.5 * _noise(str(suspect), str(other), "md") + (0.2 if stolen else 0)


def reuse_settings(**zoo):
    """The benchmark's settings with a zoo of the smoke scale's shape (or `zoo` changes)."""
    from experiments.studies.modelreuse import Settings  # noqa: PLC0415
    from training.reuse.zoo import Zoo  # noqa: PLC0415

    small = dict(archs=["mbnet", "resnet20"], source="src5", datasets=["tgtA", "tgtB"],
                 tune_ratios=[0.5], prune_ratios=[0.5], quant_dtypes=["qint8"],
                 homo_steal=False, retrain_variants=False)  # fmt: skip
    return Settings(zoo=Zoo(**{**small, **zoo}))


def reuse_tables(settings=None) -> dict:
    """The modelreuse study's tables, computed from hand-made distances."""
    ctx = Context(dataset="modelreuse", seeds=(0, 1), final_epoch=0, num_points=POINTS,
                  settings={"modelreuse": settings or reuse_settings()})  # fmt: skip
    return STUDIES["modelreuse"].compute(HandMadeReuse(), ctx)
