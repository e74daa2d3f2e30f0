"""A label copy queried on a disjoint pool (training/recipes/extraction_pool.py): trained for real
on generated data, it never touches the victim's training points; the plan builds it when the
extraction study asks for a `-pool` mode."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch
from tiny_runs import same_weights, train_config

import training.loop
import training.recipes.extraction_pool as pool_recipe
from core.errors import SettingsError
from pipeline.apps import compose as compose_app
from pipeline.plan import load_plan
from training.data import Split
from training.loop import as_train_config, train
from training.recipes.extraction import ExtractionMode
from training.recipes.extraction_pool import PoolExtraction

VICTIM_POINTS, POOL = 150, 40  # of the 200 generated training images


@pytest.fixture(scope="module")
def data_root(generated_root) -> Path:
    return generated_root("cifar10", n_train=20, n_test=5).parent


@pytest.fixture(scope="module")
def victim(data_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("victim")
    train(train_config(data_root, out, f"++dataset.options.train_points={VICTIM_POINTS}"))
    return out / "epoch2.safetensors"


def _copy(data_root, out, victim, pool=POOL):
    return train(train_config(data_root, out, "recipe=extraction_pool", f"recipe.pool_points={pool}",
                      f"+parents.victim={victim}",
                      f"++dataset.options.train_points={VICTIM_POINTS}"))  # fmt: skip


def _garbled(points: slice, monkeypatch) -> None:
    """Every load of the data returns other pixels for these training points (canonical order)."""
    real = training.loop.load_dataset

    def load(*args, **kwargs):
        bundle = real(*args, **kwargs)
        inputs = bundle.train.inputs.clone()
        part = inputs[points]
        inputs[points] = torch.randint(0, 256, part.shape, dtype=part.dtype)
        return dataclasses.replace(bundle, train=Split(inputs, bundle.train.labels))

    monkeypatch.setattr(training.loop, "load_dataset", load)
    monkeypatch.setattr(pool_recipe, "load_dataset", load)


def test_the_copy_learns_from_a_pool_the_victim_never_saw(
    data_root, victim, tmp_path, monkeypatch
):
    record = _copy(data_root, tmp_path / "a", victim)
    assert record["finished"] and record["pool"] == {"first": VICTIM_POINTS, "points": POOL}
    assert record["train_targets"] == "victim labels on a disjoint pool"
    assert record["config"]["recipe"] == {"name": "extraction_pool", "mode": "labels",
                                          "victim": 0, "pool_points": POOL}  # fmt: skip
    _garbled(slice(0, VICTIM_POINTS), monkeypatch)  # the victim's points: never read
    _copy(data_root, tmp_path / "b", victim)
    assert same_weights(
        tmp_path / "a" / "epoch2.safetensors", tmp_path / "b" / "epoch2.safetensors"
    )
    monkeypatch.undo()
    _garbled(slice(VICTIM_POINTS, VICTIM_POINTS + POOL), monkeypatch)  # the pool: what it learns
    _copy(data_root, tmp_path / "c", victim)
    assert not same_weights(
        tmp_path / "a" / "epoch2.safetensors", tmp_path / "c" / "epoch2.safetensors"
    )


def test_a_victim_trained_on_every_point_leaves_no_pool(data_root, victim, tmp_path):
    whole = tmp_path / "whole"
    train(train_config(data_root, whole))
    with pytest.raises(SettingsError, match="no point is left for a disjoint pool"):
        train(train_config(data_root, tmp_path / "copy", "recipe=extraction_pool",
                   f"+parents.victim={whole / 'epoch2.safetensors'}"))  # fmt: skip
    with pytest.raises(SettingsError, match="needs 250 training points"):
        _copy(data_root, tmp_path / "big", victim, pool=100)


def test_the_plan_builds_pool_copies_of_every_victim_when_the_study_asks():
    modes = "extraction_study.modes=[labels,labels-pool]"
    plan = load_plan("smoke", plan_overrides=[modes, "extraction_study.pool_points=50"])
    needs = plan.models("cifar10")["extract-labels-pool50-from-seed0", 100]
    assert needs.model.recipe == PoolExtraction(ExtractionMode.labels, victim=0, pool_points=50)
    app, args = plan.model_job("cifar10", "extract-labels-pool50-from-seed0", 100)
    run = as_train_config(compose_app("train", args))
    assert run.recipe == needs.model.recipe and run.seed == 100
    victim = plan.models("cifar10")["standard", 0].model
    assert os.path.dirname(run.parents["victim"]) == plan.model_dir("cifar10", victim)
    assert any(r.startswith("extract-labels-pool") for r in plan.recipe_folders("extraction_pool"))
