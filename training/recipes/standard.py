"""Standard training (paper section 4): the reference and unrelated models, the victims and the
originals of section 5. Trained on the training split with its true labels."""

from __future__ import annotations

from dataclasses import dataclass

from training.recipes.base import Model, Recipe


@dataclass(unsafe_hash=True)
class Standard(Recipe):
    name = "standard"
    FOLDER = "standard"
    LABEL = "standard"


def standard(seed: int) -> Model:
    """The standard model of `seed`."""
    return Model(Standard(), seed)


RECIPE = Standard
