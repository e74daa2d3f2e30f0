"""Model extraction from a disjoint pool: the adversary queries the victim on training images it
never saw, not on the victim's own training points (a variant of section 5.2's adversary).

The recipe `extraction_pool` (`PoolExtraction(mode, victim, pool_points)`, folder
`extract-{mode}-pool{pool_points}-from-seed{victim}`): the victim, the standard model of seed
`victim` at its final epoch, trained on the first P points of its dataset's training split
(`dataset.options.train_points` = P, in the order `order_seed` fixes); the adversary queries it
on the next `pool_points` points of that order, P .. P + pool_points - 1, and trains its own
model on the answers, as `extraction` does (`labels`: argmax labels, cross-entropy; `outputs`:
logits, mean-squared error). The pool's true labels are never used. Which points the victim
trained on is read from its run record (`metrics.json` beside its checkpoint); a victim trained
on its whole training split leaves no pool, and the run is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.errors import SettingsError
from training.data import DataBundle, Split, load_dataset
from training.recipes.base import TrainingJob
from training.recipes.extraction import Extraction, query_victim


@dataclass(unsafe_hash=True)
class PoolExtraction(Extraction):
    """A copy trained on the victim's answers to a pool of points it never trained on (the
    victim, its parent and its check as in `Extraction`)."""

    name = "extraction_pool"
    FOLDER = "extract-{mode}-pool{pool_points}-from-seed{victim}"
    LABEL = "extract-{mode}-pool"

    pool_points: int = 1000  # the adversary's pool: the training points after the victim's

    def problems(self) -> list[str]:
        ok = self.pool_points >= 1
        return [] if ok else [f"pool_points must be >= 1, got {self.pool_points}"]

    def training_job(self, cfg, bundle: DataBundle, device) -> TrainingJob:
        """The victim's answers on the pool as targets; `victim_agreement` on the test split."""
        victim = Path(cfg.parents["victim"])
        first = victim_training_points(victim, cfg.dataset)
        options = {**cfg.dataset.options, "train_points": None}  # the whole training split
        full = load_dataset(cfg.dataset.name, Path(cfg.data_root) / cfg.dataset.name,
                            download=cfg.download, **options).train  # fmt: skip
        end = first + self.pool_points
        if end > len(full):
            raise SettingsError(
                f"a pool of {self.pool_points} points after the victim's {first} needs {end} "
                f"training points; {cfg.dataset.name} has {len(full)}: lower pool_points"
            )
        pool = Split(full.inputs[first:end], full.labels[first:end])
        answers = query_victim(victim, self.mode, bundle, device, cfg.trainer.eval_batch_size,
                               queries=pool)  # fmt: skip
        return answers.job(pool, bundle, self.mode, f"victim {self.mode.value} on a disjoint pool",
                           pool={"first": first, "points": self.pool_points})  # fmt: skip


def victim_training_points(checkpoint: Path, dataset) -> int:
    """How many training points the victim trained on (the first P of the order this run sees),
    from its run record; refused when it trained on another dataset or order, or on them all."""
    record = checkpoint.parent / "metrics.json"
    try:
        trained = json.loads(record.read_text())["config"]["dataset"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SettingsError(f"{record}: no run record of the victim (its dataset)") from None
    theirs, ours = trained.get("options") or {}, dict(dataset.options)
    if trained.get("name") != dataset.name or theirs.get("order_seed") != ours.get("order_seed"):
        raise SettingsError(
            f"the victim trained on {trained.get('name')} in order {theirs.get('order_seed')}, "
            f"this run reads {dataset.name} in order {ours.get('order_seed')}: a pool after its "
            "points needs the same dataset and order"
        )
    if theirs.get("train_points") is None:
        raise SettingsError(
            f"the victim ({checkpoint}) trained on every training point of {dataset.name}: no "
            "point is left for a disjoint pool; train victims with dataset.options.train_points"
        )
    return int(theirs["train_points"])


RECIPE = PoolExtraction
