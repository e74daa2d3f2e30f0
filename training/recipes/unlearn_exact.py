"""Exact unlearning (paper section 5.3): the model retrained from scratch without the forget set.

The recipe `unlearn_exact` (`ExactUnlearning(forget_points)`, folder `unlearn-exact`): standard
training on the training split without its first `forget_points` points (canonical order; the
forget set, which is also the `train-first` reference set), the data order a permutation of the
retained points only. History entries get `forget_accuracy` (the forget set with its true labels)
and the record `train_points` and `forget_points`. Its seed is the study's choice
(`unlearning_study.exact_seed_offset`): the original's own seed reruns the same script without
the forget set; `unlearning_study.independent_offset` adds a retrain from an independent seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import SettingsError
from training.data import DataBundle, Split
from training.recipes.base import Recipe, TrainingJob, forget_split, retained_split


@dataclass(unsafe_hash=True)
class ExactUnlearning(Recipe):
    name = "unlearn_exact"
    FOLDER = "unlearn-exact"
    LABEL = "unlearn-exact"

    forget_points: int = 128  # the forget set: the first forget_points training points

    def problems(self) -> list[str]:
        ok = self.forget_points >= 1
        return [] if ok else [f"forget_points must be >= 1, got {self.forget_points}"]

    def check(self, cfg) -> None:
        super().check(cfg)
        if cfg.record.forget_points is not None:
            raise SettingsError(
                "record.forget_points and recipe=unlearn_exact exclude each other: a run without "
                "the forget set has no forget batches to record"
            )

    def training_job(self, cfg, bundle: DataBundle, device) -> TrainingJob:
        n = self.forget_points
        forget = forget_split(bundle, n)
        if n >= len(bundle.train):
            raise SettingsError(f"excluding {n} points leaves no training data")
        split, info = self.subset(retained_split(bundle, n))
        return TrainingJob(split, split.labels, evals={"forget_accuracy": forget},
                           info={"forget_points": n, "train_points": len(split), **info})  # fmt: skip

    def subset(self, retained: Split) -> tuple[Split, dict]:
        """What of the retained data the retrain trains on (all of it), and its record fields."""
        return retained, {}


RECIPE = ExactUnlearning
