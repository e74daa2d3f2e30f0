"""Compute one study's tables for one dataset (experiments/studies/, docs/architecture.md).

    python -m experiments.compute_distances study=epochs dataset=cifar10 seeds=[0,1,2] \
        final_epoch=4 'settings={epochs:{every:1,k:1,k_values:[1,2]}}' \
        inputs_root=results/smoke models_root=results/smoke arch=resnet20 refset=train-random \
        tables.distances=results/smoke/distances/cifar10/train-random/epochs.tsv

The pipeline writes these arguments from its plan (pipeline/plan.py, `study_args`). `settings` holds
the settings of the studies this one reads, by name, each checked against its study's dataclass.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf

from core.app import hydra_app
from core.errors import SettingsError
from core.files import atomic_write_tsv
from experiments import config  # noqa: F401  (registers the schemas)
from experiments.checks import check_settings, input_dir, output_file
from experiments.studies import STUDIES, Context
from experiments.studies.files import Files

log = logging.getLogger(__name__)


def study_settings(name: str, given) -> object:
    """The typed settings of study `name` from a plain mapping (unknown keys, wrong types refused)."""
    schema = OmegaConf.structured(STUDIES[name].settings)
    try:
        return OmegaConf.to_object(OmegaConf.merge(schema, given or {}))
    except Exception as err:  # omegaconf raises several types, all meaning "invalid"
        raise SettingsError(f"settings.{name}: {err}") from None


def context(cfg: DictConfig) -> Context:
    """The study's view of the run, from the app's config."""
    study = STUDIES[cfg.study]
    given = OmegaConf.to_container(cfg.settings, resolve=True) or {}
    unknown = sorted(set(given) - set(STUDIES))
    if unknown:
        raise SettingsError(f"settings for unknown studies {unknown}: one of {', '.join(STUDIES)}")
    seeds = tuple(int(s) for s in cfg.seeds)
    if len(set(seeds)) != len(seeds) or len(seeds) < 2:
        raise SettingsError(f"seeds must be >= 2 distinct seeds, got {list(seeds)}")
    d = cfg.distance
    return Context(
        dataset=cfg.dataset.name,
        seeds=seeds,
        final_epoch=int(cfg.final_epoch),
        num_reference=int(cfg.reference.num_points),
        settings={n: study_settings(n, given.get(n)) for n in (study.name, *study.uses)},
        metrics=tuple(d.metrics),
        align=None if d.align == "none" else d.align,
        n_bootstrap=int(d.n_bootstrap),
    )


def compute_distances(cfg: DictConfig) -> dict:
    """Run study `cfg.study` and write each of its tables to `cfg.tables.<table>` (TSV)."""
    check_settings(cfg)
    if cfg.study not in STUDIES:
        raise SettingsError(f"unknown study {cfg.study!r}: one of {', '.join(STUDIES)}")
    study = STUDIES[cfg.study]
    outputs = dict(cfg.tables or {})
    if set(outputs) != set(study.tables):
        raise SettingsError(
            f"study {study.name} writes the tables {', '.join(study.tables)}: set "
            + " ".join(f"tables.{t}=<file.tsv>" for t in study.tables)
        )
    for table, path in outputs.items():
        output_file(path, f"tables.{table}")
    input_dir(cfg.inputs_root, "inputs_root")
    if not cfg.arch:
        raise SettingsError("set arch=<architecture> (the folder under signatures/<dataset>/)")
    ctx = context(cfg)
    files = Files(root=cfg.inputs_root, models_root=cfg.models_root or cfg.inputs_root,
                  dataset=ctx.dataset, arch=cfg.arch, refset=cfg.refset)  # fmt: skip
    tables = study.compute(files, ctx)
    study.check(tables)
    for table, df in tables.items():
        atomic_write_tsv(df, outputs[table])
        log.info("%s: %d rows", outputs[table], len(df))
    return tables


main = hydra_app(compute_distances, "compute_distances")


if __name__ == "__main__":
    main()
