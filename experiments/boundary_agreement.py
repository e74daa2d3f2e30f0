"""Prediction similarity near the victim's decision boundary: the baseline Zest is compared with (§4.3).

    python -m experiments.boundary_agreement dataset=cifar10 data_root=data \
        boundary.victim=models/.../standard/seed0/epoch200.safetensors \
        'boundary.suspects=[models/.../extract-labels-from-seed0/seed100/epoch200.safetensors, ...]' \
        out=boundary.tsv [boundary.num_points=128]

Picks the `boundary.num_points` test points where the victim is least sure (smallest top-2 softmax
margin) and writes, per suspect, the share of equal argmax labels there and on the whole test split.
The paper reports 35.23 % (unrelated), 41.92 % (related) and 32.36 % (a high-fidelity extracted copy)
on CIFAR-10. Not part of the Snakemake DAG yet.
"""

from __future__ import annotations

import logging

import pandas as pd
import torch
from omegaconf import DictConfig

from experiments import config  # noqa: F401  (registers zest_schema)
from experiments.checks import (
    check_settings,
    check_tasks,
    dataset_task,
    input_file,
    model_task,
    output_file,
)
from experiments.common import batched_scores, load_data, load_model, model_inputs, write_tsv
from experiments.studies import boundary_agreement
from training.app import hydra_app
from training.errors import SettingsError
from training.runtime import pick_device, set_threads

log = logging.getLogger(__name__)


def _scores(path: str, inputs: torch.Tensor, device) -> torch.Tensor:
    return batched_scores(load_model(path, device=device)[0], inputs, device)


def run(cfg: DictConfig) -> pd.DataFrame:
    b = cfg.boundary
    check_settings(cfg)
    if not b.suspects:
        raise SettingsError("set boundary.suspects=[<checkpoint>,...]")
    paths = [input_file(b.victim, "boundary.victim")]
    paths += [input_file(p, "boundary.suspects") for p in b.suspects]
    out = output_file(cfg.out, "out")
    dataset = dataset_task(cfg.dataset.name)
    check_tasks(dataset, {f"{p}": model_task(p) for p in paths})
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    bundle = load_data(cfg)
    inputs = model_inputs(bundle, bundle.test.inputs)
    victim = _scores(b.victim, inputs, device)
    rows = []
    for path in b.suspects:
        near, overall = boundary_agreement(victim, _scores(path, inputs, device), b.num_points)
        rows.append(dict(victim=b.victim, suspect=path, num_points=min(b.num_points, len(inputs)),
                         agreement_near_boundary=near, agreement_test=overall))  # fmt: skip
        log.info(
            "%s: %.2f %% near the boundary, %.2f %% on the test set",
            path,
            100 * near,
            100 * overall,
        )
    table = pd.DataFrame(rows)
    write_tsv(table, out)
    return table


main = hydra_app(run, "zest")


if __name__ == "__main__":
    main()
