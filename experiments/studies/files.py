"""The artifacts of one dataset, read from the pipeline's folders (`layout`), each file once."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

import zest
from core.errors import SettingsError
from experiments.studies.base import Metrics, Predictions, Signature
from experiments.studies.layout import artifact_path
from training.recipes import Model


class Files:
    """`experiments.studies.base.Inputs` over files: signatures, predictions, run records."""

    def __init__(self, *, root: str, models_root: str, dataset: str, arch: str, refset: str):
        self.where = dict(root=root, models_root=models_root, dataset=dataset, arch=arch,
                          refset=refset)  # fmt: skip

    def _path(self, artifact) -> Path:
        path = Path(artifact_path(artifact, **self.where))
        if not path.is_file():
            raise SettingsError(
                f"no {type(artifact).__name__.lower()} at {path}: compute it first"
            )
        return path

    @functools.cache  # noqa: B019  (one Files per job; signatures are read once each)
    def signature(self, model: Model, epoch: int) -> zest.Signature:
        return zest.Signature.load(self._path(Signature(model, epoch)))

    @functools.cache  # noqa: B019
    def _predictions(self, model: Model) -> dict[str, dict[int, np.ndarray]]:
        with np.load(self._path(Predictions(model, 0))) as data:
            epochs = data["epochs"].tolist()
            return {key: dict(zip(epochs, data[key], strict=True))
                    for key in ("labels", "test_scores") if key in data}  # fmt: skip

    def _epoch(self, model: Model, epoch: int, key: str) -> np.ndarray:
        found = self._predictions(model).get(key, {})
        if epoch not in found:
            path = artifact_path(Predictions(model, epoch), **self.where)
            raise SettingsError(f"{path} has no {key} of epoch {epoch}: predict it again")
        return found[epoch]

    def labels(self, model: Model, epoch: int) -> np.ndarray:
        return self._epoch(model, epoch, "labels")

    def test_scores(self, model: Model, epoch: int) -> np.ndarray:
        return self._epoch(model, epoch, "test_scores")

    @functools.cache  # noqa: B019
    def metrics(self, model: Model) -> dict:
        path = self._path(Metrics(model))
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise SettingsError(f"{path}: not a readable run record ({err})") from None
