"""Predicted labels of each checkpoint of a run on the first training points (section 4.3).

    python -m experiments.predict_labels dataset=cifar10 data_root=data model_dir=models/.../seed0 \
        out=predictions/seed0.npz [predictions.num_points=1280]

Writes an .npz with `epochs` (E,) and `labels` (E, P) int64.
"""

from __future__ import annotations

import io

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

from experiments import config  # noqa: F401  (registers zest_schema)
from experiments.common import batched_scores, checkpoints, load_data, load_model, reference_points
from training.checkpoint import atomic_write_bytes
from training.runtime import pick_device, set_threads


@torch.no_grad()
def predict_labels(cfg: DictConfig) -> dict[int, np.ndarray]:
    """argmax predictions of each checkpoint of `cfg.model_dir` on the first points of the train split."""
    if not cfg.model_dir or not cfg.out:
        raise ValueError("set model_dir=<run folder> and out=<path>.npz")
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    bundle = load_data(cfg)
    count = min(cfg.predictions.num_points, len(bundle.train.labels))
    x = reference_points(bundle, cfg, count)
    labels = {}
    for epoch, path in checkpoints(cfg.model_dir, cfg.epochs).items():
        model, _ = load_model(path, device=device)
        labels[epoch] = batched_scores(model, x, device).argmax(dim=1).numpy()
    epochs = np.array(sorted(labels))
    buffer = io.BytesIO()
    np.savez(buffer, epochs=epochs, labels=np.stack([labels[e] for e in epochs]))
    atomic_write_bytes(cfg.out, buffer.getvalue())
    return labels


@hydra.main(config_path="../conf", config_name="zest", version_base=None)
def main(cfg: DictConfig) -> None:
    predict_labels(cfg)


if __name__ == "__main__":
    main()
