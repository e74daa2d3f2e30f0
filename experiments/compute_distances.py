"""Compute one study's distance table for one dataset (docs/architecture.md).

    python -m experiments.compute_distances dataset=cifar10 study.name=epochs inputs_root=results/smoke \
        arch=resnet20 study.seeds=[0,1,2] study.grid=[0,1,2,3] study.k_values=[1,2] \
        study.final_epoch=4 out=distances/epochs.tsv

Reads signatures from `inputs_root/signatures/<dataset>/<refset>/<arch>/standard/seed<s>/epoch<E>.npz`
and predictions from `inputs_root/predictions/<dataset>/<arch>/standard/seed<s>.npz`.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

import zest
from experiments import (
    config,  # noqa: F401  (registers zest_schema)
    studies,
)
from experiments.checks import check_settings, input_dir, output_file
from experiments.common import write_tsv
from training.app import hydra_app
from training.errors import SettingsError

log = logging.getLogger(__name__)
STUDIES = ("epochs", "refsize", "agreement", "extraction", "unlearning")


def _signature_loader(cfg: DictConfig):
    """load(recipe, seed, epoch) -> Signature, memoized."""
    root = Path(cfg.inputs_root) / "signatures" / cfg.dataset.name / cfg.refset / cfg.arch

    @functools.cache
    def load(recipe: str, seed: int, epoch: int) -> zest.Signature:
        return zest.Signature.load(root / recipe / f"seed{seed}" / f"epoch{epoch}.npz")

    return load


def _suspects(cfg: DictConfig) -> dict:
    """Section 5: suspect kind -> (victim seed -> (recipe folder, seed, epochs))."""
    s = cfg.study

    def extracted(mode):
        return lambda v: (f"extract-{mode}-from-seed{v}", v + s.seed_offset, list(s.grid))

    def unlearned(kind):
        offset = s.exact_seed_offset if kind == "unlearn-exact" else 0
        return lambda v: (kind, v + offset, [s.final_epoch])

    if s.name == "extraction":
        return {f"extract-{mode}": extracted(mode) for mode in s.modes}
    return {kind: unlearned(kind) for kind in ("unlearn-exact", "unlearn-amnesiac")}


def _prediction_loader(cfg: DictConfig):
    root = Path(cfg.inputs_root) / "predictions" / cfg.dataset.name / cfg.arch / "standard"

    @functools.cache
    def run(seed: int) -> dict[int, np.ndarray]:
        path = root / f"seed{seed}.npz"
        if not path.is_file():
            raise SettingsError(f"no predictions at {path}: run experiments.predict_labels first")
        with np.load(path) as data:
            return dict(zip(data["epochs"].tolist(), data["labels"], strict=True))

    return lambda seed, epoch: run(seed)[epoch]


def compute_distances(cfg: DictConfig):
    """Run the study `cfg.study.name` and write its table to `cfg.out` (TSV)."""
    check_settings(cfg)
    input_dir(cfg.inputs_root, "inputs_root")
    if not cfg.arch:
        raise SettingsError("set arch=<architecture> (the folder under signatures/<dataset>/)")
    output_file(cfg.out, "out")
    if cfg.verdicts_out:
        output_file(cfg.verdicts_out, "verdicts_out")
    s, d = cfg.study, cfg.distance
    if s.name not in STUDIES:
        raise SettingsError(f"unknown study {s.name!r}: {', '.join(STUDIES)}")
    if len(set(s.seeds)) != len(s.seeds) or len(s.seeds) < 2:
        raise SettingsError(f"study.seeds must be >= 2 distinct seeds, got {list(s.seeds)}")
    align = None if d.align == "none" else d.align
    common = dict(dataset=cfg.dataset.name, seeds=list(s.seeds), final_epoch=s.final_epoch)
    standard = functools.partial(_signature_loader(cfg), "standard")
    if s.name == "epochs":
        table = studies.epochs_study(
            standard,
            grid=list(s.grid),
            k_values=list(s.k_values),
            metrics=list(d.metrics),
            align=align,
            **common,
        )
    elif s.name == "refsize":
        table = studies.refsize_study(
            standard,
            pairs=[tuple(p) for p in s.pairs],
            num_points=cfg.reference.num_points,
            repeats=s.repeats,
            metrics=list(d.metrics),
            align=align,
            **common,
        )
    elif s.name == "agreement":
        table = studies.agreement_study(
            _prediction_loader(cfg),
            pair=tuple(s.pairs[0]),
            num_points=list(s.num_points),
            **common,
        )
    else:  # extraction, unlearning
        load, suspects = _signature_loader(cfg), _suspects(cfg)
        table = studies.suspects_study(
            load,
            dataset=cfg.dataset.name,
            victims=list(s.seeds),
            suspects=suspects,
            final_epoch=s.final_epoch,
            metrics=list(d.metrics),
            align=align,
        )
        if cfg.verdicts_out:
            write_tsv(
                studies.verdicts(
                    load,
                    dataset=cfg.dataset.name,
                    victims=list(s.seeds),
                    suspects=suspects,
                    final_epoch=s.final_epoch,
                    align=align,
                    n_bootstrap=d.n_bootstrap,
                ),
                cfg.verdicts_out,
            )
    write_tsv(table, cfg.out)
    log.info("%s: %d rows", cfg.out, len(table))
    return table


main = hydra_app(compute_distances, "zest")


if __name__ == "__main__":
    main()
