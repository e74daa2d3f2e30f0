"""Every app's primary config (conf/<app>.yaml): it composes, and each setting has one copy.

A setting's type, default and documentation live in its schema's dataclass; a YAML file that
restates a default is a second copy that can drift from the first, so it is refused here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from core.errors import SettingsError
from pipeline.apps import (
    ZEST_APPS,
    app_overrides,
    check_apps,
    compose,
    compose_apps,
    unused_overrides,
)
from training.config import DatasetConfig, ModelConfig, TrainerConfig

CONF = Path(__file__).resolve().parent.parent / "conf"
PRIMARY = sorted(p.stem for p in CONF.glob("*.yaml"))
# config groups whose files are choices merged straight onto a schema default
GROUPS = {"dataset": DatasetConfig, "model": ModelConfig, "trainer": TrainerConfig}


def _schema_name(name: str) -> str:
    first = OmegaConf.load(CONF / f"{name}.yaml").defaults[0]
    assert isinstance(first, str) and first == f"{name}_schema", (name, first)
    return first


def _schema(name: str) -> DictConfig:
    compose(name)  # imports (registers) the schema
    return ConfigStore.instance().load(f"{_schema_name(name)}.yaml").node


def _restated(given: dict, defaults: dict, path: str = "") -> list[str]:
    """The keys of `given` whose value is the one in `defaults` (recursively)."""
    found = []
    for key, value in given.items():
        if key not in defaults:
            continue  # not a schema key: composing refuses it
        default = defaults[key]
        if isinstance(value, dict) and isinstance(default, dict):
            found += _restated(value, default, f"{path}{key}.")
        elif value == default and isinstance(value, bool) == isinstance(default, bool):
            found.append(f"{path}{key}: {value!r}")
    return found


def test_every_app_has_its_primary_config():
    assert set(PRIMARY) == {*ZEST_APPS, "compare", "train", "data", "unlearn", "modelreuse"}


@pytest.mark.parametrize("name", PRIMARY)
def test_every_primary_config_composes(name):
    cfg = compose(name, ["out_dir=x"] if name == "train" else [])
    assert set(cfg) == set(_schema(name))  # the schema's keys, no others


@pytest.mark.parametrize("name", PRIMARY)
def test_no_primary_config_restates_a_default(name):
    given = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    given = {k: v for k, v in given.items() if k not in ("defaults", "hydra")}
    defaults = OmegaConf.to_container(_schema(name), enum_to_str=True)
    assert _restated(given, defaults) == [], f"conf/{name}.yaml restates its schema's defaults"


@pytest.mark.parametrize(
    "path", [p for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))], ids=lambda p: p.stem
)
def test_no_group_choice_restates_a_default(path):
    defaults = OmegaConf.to_container(OmegaConf.structured(GROUPS[path.parent.name]),
                                      enum_to_str=True)  # fmt: skip
    given = OmegaConf.to_container(OmegaConf.load(path))
    assert _restated(given, defaults) == [], f"{path.relative_to(CONF)} restates defaults"


def test_the_one_copy_check_finds_restated_values():
    defaults = {"a": 1, "b": {"c": "x", "d": None}, "e": False, "f": "???"}
    given = {"a": 1, "b": {"c": "y", "d": None}, "e": 0, "f": "???"}
    assert _restated(given, defaults) == ["a: 1", "b.d: None", "f: '???'"]


def test_each_zest_app_gets_the_overrides_it_takes():
    overrides = [
        "dataset=ag_news", "++dataset.options.max_len=16", "reference.num_samples=64",
        "signature.batch_size=8", "predictions.num_points=16", "distance.n_bootstrap=10",
        "hydra.verbose=true",
    ]  # fmt: skip
    taken = {app: app_overrides(app, overrides) for app in ZEST_APPS}
    assert taken["build_reference"] == [*overrides[:3], "hydra.verbose=true"]
    assert taken["compute_signatures"] == ["signature.batch_size=8", "hydra.verbose=true"]
    assert taken["predict_labels"] == [*overrides[:3], *overrides[4:5], "hydra.verbose=true"]
    assert taken["compute_distances"] == [*overrides[:3], *overrides[5:]]
    assert unused_overrides(overrides) == []
    assert unused_overrides(["+foo=1", "compare.metric=l1", "~threads", "nonsense.x=2"]) == [
        "+foo=1", "compare.metric=l1", "nonsense.x=2",
    ]  # fmt: skip
    configs = compose_apps(overrides)
    assert configs["predict_labels"].reference.num_samples == 64
    assert configs["compute_signatures"].signature.batch_size == 8
    assert configs["build_reference"].dataset.options.max_len == 16


def test_check_apps_names_the_datasets_of_a_problem():
    train = {d: compose("train", [f"dataset={d}", f"model={m}", "out_dir=x"])
             for d, m in (("cifar10", "resnet20"), ("ag_news", "lstm"))}  # fmt: skip
    zest = {
        "cifar10": compose_apps(["dataset=cifar10", "threads=0", "reference.num_samples=1"]),
        "ag_news": compose_apps(["dataset=ag_news", "reference.num_samples=1"]),
    }
    with pytest.raises(SettingsError) as err:
        check_apps(train, zest)
    message = str(err.value)
    assert message.count("reference.num_samples") == 1  # once, though three apps have it
    assert "got 1;" in message and "threads must be an integer >= 1, got 0 (cifar10)" in message
    check_apps(train, {d: compose_apps([f"dataset={d}"]) for d in train})  # all well
