"""The apps' Hydra configs as the pipeline's jobs will see them, composed and checked at plan load.

Every app has its own primary config, `conf/<app>.yaml`, holding only the settings it reads. The
user's Zest overrides (`snakemake --config overrides='[reference.num_samples=128]'`) go to each
Zest app that takes them (`app_overrides`); one that no Zest app takes is a mistake
(`unused_overrides`). Settings with which every job of a kind would fail (`trainer.epochs=0`,
`reference.num_samples=1`, ...) are refused here, before Snakemake builds the DAG or writes
anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from core.errors import SettingsError

__all__ = [
    "CONF_DIR",
    "ZEST_APPS",
    "app_overrides",
    "check_apps",
    "compose",
    "compose_apps",
    "unused_overrides",
]

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
# The Zest apps the pipeline runs: their config names (conf/<name>.yaml, experiments.<name>)
ZEST_APPS = ("build_reference", "compute_signatures", "predict_labels", "compute_distances")


def compose(config_name: str, overrides: Iterable[str] = (), *, hydra: bool = False):
    """Compose one of the apps' Hydra configs exactly as the app will see it.

    Args:
        config_name: The app's primary config, `conf/<config_name>.yaml`.
        overrides: Hydra overrides, as on the app's command line.
        hydra: Also return the `hydra` node (Hydra's own settings and the runtime choices).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import experiments.config  # noqa: F401  (registers the Zest apps' schemas)
    import training.config  # noqa: F401  (registers train_schema)
    import training.prepare_data  # noqa: F401  (registers data_schema)

    if config_name == "unlearn":
        import experiments.unlearn  # noqa: F401  (registers unlearn_schema; imports torch)

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return hydra_compose(
            config_name=config_name, overrides=list(overrides), return_hydra_config=hydra
        )


@functools.cache
def _accepted(config_name: str) -> frozenset[str]:
    """The top-level keys an app's overrides may name: its config's keys, `hydra`, its groups."""
    cfg = compose(config_name, hydra=True)
    groups = {re.split(r"[@/]", group)[0] for group in cfg.hydra.runtime.choices}
    return frozenset({*cfg.keys(), *groups})


def _top_key(override: str) -> str:
    """The top-level key or config group an override names (`+`, `~`, `++` and `@pkg` aside)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    key = OverridesParser.create().parse_override(override).key_or_group
    return re.split(r"[./]", key)[0]


def app_overrides(config_name: str, overrides: Iterable[str]) -> list[str]:
    """The overrides that app `config_name` takes: those whose top-level key (or config group)
    its composed config has, in their order. `hydra.*` overrides go to every app.

    Raises:
        hydra.errors.OverrideParseException: an override Hydra cannot read.
    """
    accepted = _accepted(config_name)
    return [o for o in overrides if _top_key(o) in accepted]


def unused_overrides(overrides: Iterable[str], apps: Iterable[str] = ZEST_APPS) -> list[str]:
    """The overrides that none of `apps` (default: the pipeline's Zest apps) takes."""
    apps = tuple(apps)
    return [o for o in overrides if not any(app_overrides(app, [o]) for app in apps)]


def compose_apps(
    overrides: Iterable[str], apps: Iterable[str] = ZEST_APPS
) -> dict[str, DictConfig]:
    """app -> its composed config, each app given the overrides it takes (`app_overrides`)."""
    overrides = list(overrides)
    return {app: compose(app, app_overrides(app, overrides)) for app in apps}


def check_apps(train_configs: Mapping, zest_configs: Mapping) -> None:
    """Refuse composed app settings with which every job of a kind would fail, naming the datasets
    concerned when the problem is not everyone's.

    Args:
        train_configs: dataset -> the training app's composed config.
        zest_configs: dataset -> {app: its composed config} (`compose_apps`); a single composed
            config per dataset is taken too.
    """
    where: dict[str, list[str]] = {}
    for d, configs in zest_configs.items():
        if isinstance(configs, DictConfig):
            configs = {"": configs}
        problems = [*_train_problems(train_configs[d])]
        for cfg in configs.values():
            problems += _zest_problems(cfg)
        for message in dict.fromkeys(problems):  # once per dataset, in order
            where.setdefault(message, []).append(d)
    if where:
        raise SettingsError(
            "; ".join(
                m if len(ds) == len(zest_configs) else f"{m} ({', '.join(ds)})"
                for m, ds in where.items()
            )
        )


def _train_problems(cfg) -> list[str]:
    """Every training job refuses these (training.loop.train)."""
    from training.config import TrainerConfig, trainer_problems

    return trainer_problems(OmegaConf.to_object(OmegaConf.merge(
        OmegaConf.structured(TrainerConfig), cfg.trainer)))  # fmt: skip


def _zest_problems(cfg) -> list[str]:
    """Every job of the app whose config this is fails on these (experiments.checks)."""
    from experiments.checks import settings_problems

    return settings_problems(cfg)
