"""The training app's Hydra config tree: every config composes, invalid ones fail early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import training.config  # noqa: F401  (registers train_schema)
from training.config import OptimizerName, SchedulerName, TrainConfig
from training.loop import as_train_config, train
from training.rundir import checkpoint_epochs

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf"
PAIRS = [
    ("cifar10", "resnet20"),
    ("cifar100", "resnet50"),
    ("ag_news", "lstm"),
    ("speech_commands", "m5"),
]
SCALES = ["paper", "mini", "smoke"]


def _compose(*overrides: str, hydra: bool = False):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=hydra)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(("dataset", "model"), PAIRS)
def test_every_pair_and_scale_composes(dataset, model, scale):
    cfg = _compose(f"dataset={dataset}", f"model={model}", f"scale={scale}", "out_dir=/tmp/x")
    typed = as_train_config(cfg)
    assert isinstance(typed, TrainConfig)
    assert typed.dataset.name == dataset and typed.model.arch == model
    assert typed.trainer.epochs >= 1 and typed.trainer.batch_size >= 1
    if scale == "smoke":
        assert typed.trainer.epochs <= 3
    if scale == "paper":  # the default scale leaves the recipe alone
        assert OmegaConf.to_container(cfg) == OmegaConf.to_container(
            _compose(f"dataset={dataset}", f"model={model}", "out_dir=/tmp/x")
        )


def test_paper_recipes_are_the_reference_ones():
    c10 = as_train_config(_compose("out_dir=x"))  # defaults: cifar10 / resnet20 / paper
    t = c10.trainer
    assert (t.epochs, t.batch_size, t.optimizer.name, t.optimizer.lr) == (
        200,
        128,
        OptimizerName.sgd,
        0.1,
    )
    assert (t.optimizer.momentum, t.optimizer.weight_decay) == (0.9, 1e-4)
    assert (t.scheduler.name, t.scheduler.milestones, t.scheduler.gamma) == (
        SchedulerName.multistep, [100, 150], 0.1,
    )  # fmt: skip
    assert (t.augment.crop_padding, t.augment.hflip, t.augment.rotation) == (4, True, 0.0)
    assert c10.dataset.options == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert c10.model.kwargs == {"width": 16}

    t = as_train_config(_compose("dataset=cifar100", "model=resnet50", "out_dir=x")).trainer
    assert (t.optimizer.weight_decay, t.scheduler.milestones, t.scheduler.gamma) == (
        5e-4, [60, 120, 160], 0.2,
    )  # fmt: skip
    assert t.augment.rotation == 15.0

    t = as_train_config(_compose("dataset=speech_commands", "model=m5", "out_dir=x")).trainer
    assert (t.optimizer.name, t.optimizer.lr, t.optimizer.weight_decay) == (
        OptimizerName.adam,
        0.01,
        1e-4,
    )
    assert (t.scheduler.name, t.scheduler.step_size, t.scheduler.gamma, t.batch_size) == (
        SchedulerName.step, 20, 0.1, 256,
    )  # fmt: skip


def test_smoke_scale_shrinks_the_model():
    cfg = as_train_config(_compose("scale=smoke", "out_dir=x"))
    assert cfg.model.kwargs["width"] < 16
    lstm = as_train_config(_compose("dataset=ag_news", "model=lstm", "scale=smoke", "out_dir=x"))
    assert lstm.model.kwargs["hidden_dim"] < 128 and lstm.model.kwargs["embed_dim"] < 64


def test_run_dir_is_out_dir_and_keys_have_defaults():
    cfg = _compose("out_dir=results/m/seed3", "seed=3", hydra=True)
    assert cfg.hydra.run.dir == "results/m/seed3"
    assert cfg.hydra.job.chdir is False
    assert cfg.hydra.runtime.choices.trainer == "cifar10_resnet20"
    assert (cfg.seed, cfg.data_root, cfg.download, cfg.device) == (3, "data", False, "auto")
    assert cfg.save_epochs is None


def test_trainer_can_be_chosen_explicitly():
    cfg = _compose("dataset=cifar100", "model=resnet20", "trainer=cifar10_resnet20", "out_dir=x")
    assert cfg.dataset.name == "cifar100" and cfg.trainer.scheduler.milestones == [100, 150]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("foo=1", "foo"),  # unknown key
        ("trainer.momentum=0.9", "momentum"),  # unknown key in a group
        ("dataset=imagenet", "dataset/imagenet"),  # unknown dataset
        ("model=vgg", "model/vgg"),  # unknown model
        ("seed=abc", "seed"),  # wrong type
        ("trainer.epochs=ten", "epochs"),  # wrong type
        ("trainer.optimizer.name=rmsprop", "rmsprop"),  # unknown optimizer
        ("download=maybe", "download"),  # wrong type
    ],
)
def test_invalid_config_fails_at_compose_time(override, message):
    with pytest.raises(Exception, match=message):
        _compose(override, "out_dir=x")


@pytest.mark.parametrize("override", ["+foo=1", "+trainer.optimizer.betas=[0.9,0.99]"])
def test_appended_unknown_key_fails_the_schema_check(override):
    cfg = _compose(override, "out_dir=x")  # Hydra's `+` bypasses struct mode...
    key = override[1:].split("=")[0]
    with pytest.raises(ValueError, match=f"unknown config key.*{key}"):
        as_train_config(cfg)  # ...the app's first step, the schema check, refuses it


def test_pair_without_recipe_fails_with_hydra_message():
    with pytest.raises(Exception, match="trainer/cifar100_resnet20"):
        _compose("dataset=cifar100", "model=resnet20", "out_dir=x")


@pytest.mark.parametrize(
    "override, words",
    [
        ("seed=-1", r"need 0 <= seed < 2\*\*63"),
        ("trainer.epochs=0", "trainer.epochs must be >= 1, got 0"),
        ("trainer.batch_size=0", "trainer.batch_size must be >= 1, got 0"),
        ("trainer.optimizer.lr=-0.1", "lr must be finite and > 0"),
        ("trainer.optimizer.lr=nan", "lr must be finite and > 0"),
        ("trainer.optimizer.momentum=-1", "momentum must lie in"),
        ("trainer.augment.crop_padding=-4", "crop_padding must be >= 0"),
        ("out_dir=", "set out_dir"),
    ],
)
def test_out_of_range_values_fail_before_any_work(override, words, tmp_path):
    cfg = _compose(f"out_dir={tmp_path / 'run'}", "data_root=/nonexistent", override)
    with pytest.raises(ValueError, match=words):
        train(cfg)
    assert not (tmp_path / "run").exists()


def test_missing_out_dir_fails():
    with pytest.raises(Exception, match="out_dir"):
        as_train_config(_compose())


def test_app_rejects_invalid_config_before_any_work(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "training.train", "seed=abc", f"out_dir={out}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "seed" in result.stderr and "abc" in result.stderr
    assert not out.exists()  # nothing was created, not even the run dir


def test_checkpoint_epochs():
    assert checkpoint_epochs(None, 3) == [0, 1, 2, 3]
    assert checkpoint_epochs("all", 2) == [0, 1, 2]
    assert checkpoint_epochs(10, 25) == [0, 10, 20, 25]
    assert checkpoint_epochs([5, 1], 8) == [0, 1, 5, 8]
    for bad in ([9], "some", 0, True, [1.5]):
        with pytest.raises(ValueError, match="save_epochs"):
            checkpoint_epochs(bad, 8)
