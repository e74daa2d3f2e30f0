"""Exact unlearning by sharding (SISA, Bourtoule et al. 2021, which the paper cites for its exact
model): a model trained from scratch on one shard of the retained data only.

The recipe `unlearn_shard` (`ShardUnlearning(forget_points, shards)`, folder
`unlearn-shard{shards}`): the training split without its first `forget_points` points (the forget
set, as `unlearn_exact`), cut in canonical order into `shards` contiguous shards of equal size
(the remainder dropped); the model trains on the first. SISA retrains only the shard that held a
removed point and aggregates the shards' models; one shard model is what such an owner retrains,
smaller and weaker than the monolithic original, which is one reading of the paper's 2.45
(docs/reproduction/README.md). Its seed is the study's choice, as for `unlearn_exact`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import SettingsError
from training.data import Split
from training.recipes.unlearn_exact import ExactUnlearning


@dataclass(unsafe_hash=True)
class ShardUnlearning(ExactUnlearning):
    name = "unlearn_shard"
    FOLDER = "unlearn-shard{shards}"
    LABEL = "unlearn-shard"

    shards: int = 5  # the retained data in this many shards; the model trains on the first

    def problems(self) -> list[str]:
        out = super().problems()
        return out + ([] if self.shards >= 2 else [f"shards must be >= 2, got {self.shards}"])

    def subset(self, retained: Split) -> tuple[Split, dict]:
        """The first of `shards` equal shards of the retained data (the remainder dropped)."""
        size = len(retained) // self.shards
        if size < 1:
            raise SettingsError(
                f"{len(retained)} retained points cannot make {self.shards} shards"
            )
        return Split(retained.inputs[:size], retained.labels[:size]), {"shards": self.shards}


RECIPE = ShardUnlearning
