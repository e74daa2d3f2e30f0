"""What each checkpoint of a run answers: labels on the first training points, scores on the test split.

    python -m experiments.predict_labels dataset=cifar10 data_root=data model_dir=models/.../seed0 \
        out=predictions/seed0.npz [predictions.num_points=1280] [epochs=[100,200]]

Writes an .npz with `epochs` (E,), `labels` (E, P) int64 (argmax on the first P training points in
the reference set's order: the prediction-similarity baseline of section 4.3) and `test_scores`
(E, T, C) float32 (the logits on the whole test split, e.g. for agreement near a decision boundary).
"""

from __future__ import annotations

import io

import numpy as np
import torch
from omegaconf import DictConfig

from core.app import hydra_app
from core.files import atomic_write
from core.runtime import pick_device, set_threads
from experiments import config  # noqa: F401  (registers predict_labels_schema)
from experiments.checks import (
    check_settings,
    check_tasks,
    dataset_task,
    input_dir,
    model_task,
    output_file,
)
from experiments.common import (
    batched_scores,
    checkpoints,
    load_data,
    load_model,
    model_inputs,
    reference_points,
)


@torch.no_grad()
def predict_labels(cfg: DictConfig) -> dict[str, np.ndarray]:
    """Labels on the first training points and test-split scores of each checkpoint of a run."""
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
    test = model_inputs(bundle, bundle.test.inputs)
    labels, scores = [], []
    epochs = sorted(found)
    for epoch in epochs:
        model, _ = load_model(found[epoch], device=device)
        labels.append(batched_scores(model, x, device).argmax(dim=1).numpy())
        scores.append(batched_scores(model, test, device).float().numpy())
    arrays = dict(epochs=np.array(epochs), labels=np.stack(labels), test_scores=np.stack(scores))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(out, buffer.getvalue())
    return arrays


main = hydra_app(predict_labels, "predict_labels")


if __name__ == "__main__":
    main()
