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
from experiments.studies import STUDIES, Context, base
from experiments.studies.base import make_context
from experiments.studies.files import Files

log = logging.getLogger(__name__)


def study_settings(name: str, given) -> object:
    """The typed settings of study `name` from a plain mapping (unknown keys, wrong types refused)."""
    return base.study_settings(name, given, STUDIES[name].settings)


def context(cfg: DictConfig) -> Context:
    """The study's view of the run, from the app's config (which the plan wrote)."""
    study = STUDIES[cfg.study]
    given = OmegaConf.to_container(cfg.settings, resolve=True) or {}
    settings = {n: given.get(n) for n in (study.name, *study.uses)}
    settings |= {n: v for n, v in given.items() if n not in settings}  # unknown: refused
    schemas = {n: s.settings for n, s in STUDIES.items()}
    return make_context(cfg.dataset.name, cfg.seeds, cfg.final_epoch, cfg.reference.num_points,
                        settings, schemas, distance=cfg.distance)  # fmt: skip


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
