"""The extraction modes beyond the paper's two (E2 of the claims audit): soft labels, labels of
augmented views, and how often the victim's answers differ from the true labels."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_runs import constant_victim, train_config

import training.config  # noqa: F401  (registers train_schema)
from core.errors import SettingsError
from training.data import load_dataset
from training.loop import train
from training.recipes.base import Job
from training.recipes.extraction import AUGMENTED_VIEWS, Extraction, ExtractionMode, query_victim


@pytest.fixture(scope="module")
def data_root(generated_root) -> Path:
    return generated_root("cifar10", n_train=20, n_test=5).parent


def _not_three(data_root: Path) -> float:
    """The share of the training labels a class-3-only victim gets wrong."""
    labels = load_dataset("cifar10", data_root / "cifar10").train.labels
    return (labels != 3).float().mean().item()


def test_softmax_targets_are_the_victims_probabilities(data_root, tmp_path):
    victim = constant_victim(tmp_path / "v.safetensors")
    bundle = load_dataset("cifar10", data_root / "cifar10")
    answers = query_victim(victim, ExtractionMode.softmax, bundle, torch.device("cpu"), 64)
    expected = torch.nn.functional.one_hot(torch.tensor(3), 10).float().mul(10).softmax(0)
    assert answers.train_targets.shape == (len(bundle.train), 10)
    torch.testing.assert_close(answers.train_targets, expected.expand(len(bundle.train), 10))
    assert answers.info["target_disagreement"] == pytest.approx(_not_three(data_root))


def test_labels_of_augmented_views_are_asked_per_batch_and_counted(data_root, tmp_path):
    victim = constant_victim(tmp_path / "v.safetensors")
    record = train(train_config(data_root, tmp_path / "run", "recipe=extraction",
                                "recipe.mode=views", f"+parents.victim={victim}",
                                *AUGMENTED_VIEWS))  # fmt: skip
    wrong = _not_three(data_root)  # each epoch shows every example once, as a view
    assert record["target_disagreement"] == pytest.approx(wrong)  # the clean queries
    epochs = record["history"][1:]
    assert [h["target_disagreement"] for h in epochs] == pytest.approx([wrong] * len(epochs))
    assert "target_disagreement" not in record["history"][0]  # epoch 0: no training
    assert epochs[-1]["train_accuracy"] == 1.0  # agreement with the views' answers (all 3)


def test_labels_of_views_need_augmentation(data_root, tmp_path):
    victim = constant_victim(tmp_path / "v.safetensors")
    cfg = train_config(data_root, tmp_path / "run", "recipe=extraction",
                       "recipe.mode=views", f"+parents.victim={victim}",
                       "trainer.augment.crop_padding=0", "trainer.augment.hflip=false")  # fmt: skip
    with pytest.raises(SettingsError, match="the trainer does not augment"):
        train(cfg)
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_the_pipeline_turns_augmentation_on_for_views_only():
    job = Job(seed=100, out_dir="o", data_root="d", train_args=("dataset=cifar10",),
              dataset_args=(), final_epoch=2)  # fmt: skip
    views = Extraction(ExtractionMode.views, 0).app_args(job)
    assert views[-2:] == list(AUGMENTED_VIEWS)
    assert "recipe.mode='views'" in views
    assert not set(AUGMENTED_VIEWS) & set(Extraction(ExtractionMode.labels, 0).app_args(job))
    assert Extraction(ExtractionMode.views, 0).folder() == ("extract-views-from-seed0")
