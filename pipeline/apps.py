"""The apps' Hydra configs as the pipeline's jobs will see them, composed and checked when the plan loads.

Settings with which every job of a kind would fail (`trainer.epochs=0`, `reference.num_samples=1`, ...)
are refused here, before Snakemake builds the DAG or writes anything.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from training.errors import SettingsError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(config_name: str, overrides: list[str]):
    """Compose one of the apps' Hydra configs exactly as the app will see it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import experiments.config  # noqa: F401  (registers zest_schema)
    import training.config  # noqa: F401  (registers train_schema)
    import training.prepare_data  # noqa: F401  (registers data_schema)

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def check_apps(train_configs: dict, zest_configs: dict) -> None:
    """Refuse composed app settings with which every job of a kind would fail, naming the datasets
    concerned when the problem is not everyone's."""
    where: dict[str, list[str]] = {}
    for d in zest_configs:
        for message in [*_train_problems(train_configs[d]), *_zest_problems(zest_configs[d])]:
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
    """Every reference, signature or distance job of a dataset fails on these."""
    from experiments.checks import settings_problems

    return settings_problems(cfg)
