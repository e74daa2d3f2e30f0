"""Which models a plan builds for one dataset, derived from what its studies read.

Every model a study reads (a `Signature`, `Predictions` or `Metrics` of a `Model`) is built, and
so is every parent its recipe names (training.recipes), recursively. For each model the plan
knows the checkpoints it must save (the epochs studies read, the epochs its children read) and
what its run must also record (a child's `Parent.record`, e.g. the forget-batch updates the
amnesiac recipe subtracts). Two different models in one folder are refused: a folder is a
model's identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.spec import PlanError
from training.recipes import Model, Recording


@dataclass
class Needs:
    """What the plan asks of one model's job."""

    model: Model
    epochs: set[int] = field(default_factory=set)  # checkpoints read (by studies or children)
    record: Recording | None = None  # what its run must also record


def collect(reads: Iterable, final_epoch: int) -> dict[tuple[str, int], Needs]:
    """(folder, seed) -> the needs of every model `reads` (artifacts) name and of their parents.

    Raises:
        PlanError: two models in one folder, or two different recordings asked of one run.
    """
    found: dict[Model, Needs] = {}

    def need(model: Model, epoch: int | None = None, record: Recording | None = None) -> bool:
        new = model not in found
        needs = found.setdefault(model, Needs(model))
        if epoch is not None:
            needs.epochs.add(epoch)
        if record is not None:
            if needs.record not in (None, record):
                raise PlanError(f"{_name(model)} is asked to record {needs.record} and {record}")
            needs.record = record
        return new

    for artifact in reads:
        need(artifact.model, getattr(artifact, "epoch", None))
    queue = list(found)
    while queue:
        model = queue.pop()
        for parent in model.recipe.parents(model.seed):
            epoch = final_epoch if parent.epoch is None else parent.epoch
            if need(parent.model, epoch, parent.record):
                queue.append(parent.model)
    by_folder: dict[tuple[str, int], Needs] = {}
    for model, needs in sorted(found.items(), key=lambda item: item[0].key()):
        other = by_folder.setdefault(model.key(), needs)
        if other is not needs:
            raise PlanError(f"two models in one folder: {other.model} and {model}; a recipe's "
                            "folder must spell every setting that differs between them")  # fmt: skip
    return by_folder


def _name(model: Model) -> str:
    return f"{model.recipe.folder()}/seed{model.seed}"
