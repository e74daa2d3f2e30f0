"""The recipe registry: each kind of model is one module, and the plan's job for every model
composes back, in the app, into that very model (recipe, settings, seed, parents)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hydra.core.config_store import ConfigStore

from pipeline.apps import compose
from pipeline.jobs import config_name
from pipeline.models import collect
from pipeline.plan import load_plan
from pipeline.spec import PlanError
from training.loop import as_train_config
from training.recipes import RECIPES, Model, Recipe, Recording
from training.recipes.standard import standard
from training.recipes.unlearn_amnesiac import AmnesiacUnlearning


@pytest.fixture(scope="module")
def smoke():
    return load_plan("smoke")


def test_each_recipe_is_one_module_and_names_its_folder_from_its_settings():
    assert {"standard", "extraction", "unlearn_exact", "unlearn_amnesiac"} <= set(RECIPES)
    options = ConfigStore.instance().repo["recipe"]
    for name, recipe in RECIPES.items():
        assert recipe.__module__ == f"training.recipes.{name}"
        default = recipe()
        assert default.folder() and default.label() and hash(default) == hash(recipe())
        if recipe.app == "training.train":  # the training app's `recipe` options
            assert f"{name}.yaml" in options, name


def test_every_models_job_composes_into_that_model_in_its_app(smoke):
    """What the plan writes on a model's command line is what the app reads back."""
    for (folder, seed), needs in smoke.models("cifar10").items():
        model = needs.model
        app, args = smoke.model_job("cifar10", folder, seed)
        assert app == model.recipe.app and folder == model.recipe.folder()
        cfg = compose(config_name(app), args)
        if app != "training.train":
            assert (cfg.window, cfg.repair_epochs) == (model.recipe.window,
                                                       model.recipe.repair_epochs)  # fmt: skip
            parent = model.recipe.parents(seed)[0].model
            assert cfg.model_dir == smoke.model_dir("cifar10", parent)
            continue
        run = as_train_config(cfg)
        assert run.recipe == model.recipe and run.seed == model.seed
        assert run.out_dir == smoke.model_dir("cifar10", model)
        for parent in model.recipe.parents(seed):
            assert os.path.dirname(run.parents[parent.role]) == smoke.model_dir(
                "cifar10", parent.model
            )  # fmt: skip
        recording = needs.record
        assert run.record.forget_points == (recording and recording.forget_points)


def test_the_amnesiac_recipe_asks_its_original_to_record(smoke):
    n = smoke.num_points
    original = smoke.models("cifar10")["standard", 0]
    assert original.record == Recording(n, keep_last=1)
    assert smoke.final_epoch("cifar10") in original.epochs  # its checkpoint, subtracted from


@dataclass(unsafe_hash=True)
class _Careless(Recipe):
    """A recipe whose folder forgets one of its settings."""

    name = "careless"
    FOLDER = "careless"
    LABEL = "careless"
    lr: float = 0.1


def test_two_models_in_one_folder_are_refused():
    from experiments.studies import Signature

    reads = [Signature(Model(_Careless(0.1), 0), 1), Signature(Model(_Careless(0.2), 0), 1)]
    with pytest.raises(PlanError, match="two models in one folder"):
        collect(reads, final_epoch=1)
    # two windows subtracted from one original ask its run for two different recordings
    windows = [Signature(Model(AmnesiacUnlearning(8, w), 0), 1) for w in ("last:1", "all")]
    collect(windows[:1], final_epoch=1)
    with pytest.raises(PlanError, match="asked to record"):
        collect(windows, final_epoch=1)
    assert standard(3) == Model(RECIPES["standard"](), 3)
