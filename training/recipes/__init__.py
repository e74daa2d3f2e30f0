"""Recipes: the ways of making a model, one module each, collected in `RECIPES` (name -> class).

A module of this package that defines `RECIPE` (a `base.Recipe` subclass) is a recipe; nothing
else lists them (docs/architecture.md, "Adding a model"). `base` says what a recipe is made of.
The training recipes (`app = "training.train"`) are the options of the training app's `recipe`
config group (`recipe=extraction recipe.mode=outputs`), registered here.

- `standard` (section 4): the training split with its true labels.
- `extraction` (section 5.2): trained on a victim's answers instead of the true labels.
- `unlearn_exact` (section 5.3): retrained without the forget set.
- `unlearn_shard` (section 5.3, SISA): retrained on one shard of the data without the forget set.
- `unlearn_amnesiac` (section 5.3): the original minus its recorded forget-batch updates
  (`amnesiac` records them during training and subtracts them).
"""

from __future__ import annotations

import importlib
import pkgutil

from hydra.core.config_store import ConfigStore

from training.recipes.base import Model, Parent, Recipe, Recording

__all__ = ["RECIPES", "Model", "Parent", "Recipe", "Recording"]


def _collect() -> dict[str, type[Recipe]]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        recipe = getattr(importlib.import_module(f"{__name__}.{info.name}"), "RECIPE", None)
        if isinstance(recipe, type) and issubclass(recipe, Recipe):
            found[recipe.name] = recipe
    return found


RECIPES: dict[str, type[Recipe]] = _collect()

for _name, _recipe in RECIPES.items():
    if _recipe.app == "training.train":
        ConfigStore.instance().store(group="recipe", name=_name, node=_recipe)
