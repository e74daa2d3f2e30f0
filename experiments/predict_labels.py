"""Predicted labels of each checkpoint of a run on the first training points (section 4.3).

    python -m experiments.predict_labels dataset=cifar10 data_root=data model_dir=models/.../seed0 \
        out=predictions/seed0.npz [predictions.num_points=1280]

Writes an .npz with `epochs` (E,) and `labels` (E, P) int64.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from omegaconf import DictConfig

from experiments import config  # noqa: F401  (registers zest_schema)
from experiments.checks import (
    check_settings,
    check_tasks,
    dataset_task,
    input_dir,
    model_task,
    output_file,
)
from experiments.common import batched_scores, checkpoints, load_data, load_model, reference_points
from training.app import hydra_app
from training.checkpoint import atomic_write_bytes
from training.runtime import pick_device, set_threads


@torch.no_grad()
def predict_labels(cfg: DictConfig) -> dict[int, np.ndarray]:
    """argmax predictions of each checkpoint of `cfg.model_dir` on the first points of the train split."""
    check_settings(cfg)
    found = checkpoints(input_dir(cfg.model_dir, "model_dir"), cfg.epochs)
    out = output_file(cfg.out, "out")
    dataset = dataset_task(cfg.dataset.name)
    check_tasks(dataset, {f"{path}": model_task(path) for path in found.values()})
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    bundle = load_data(cfg)
    count = min(cfg.predictions.num_points, len(bundle.train.labels))
    x = reference_points(bundle, cfg, count)
    labels = {}
    for epoch, path in found.items():
        model, _ = load_model(path, device=device)
        labels[epoch] = batched_scores(model, x, device).argmax(dim=1).numpy()
    epochs = np.array(sorted(labels))
    buffer = io.BytesIO()
    np.savez(buffer, epochs=epochs, labels=np.stack([labels[e] for e in epochs]))
    atomic_write_bytes(out, buffer.getvalue())
    return labels


main = hydra_app(predict_labels, "zest")


if __name__ == "__main__":
    main()
