"""Download, generate or check one dataset, then load it once and write a summary.

    python -m training.prepare_data dataset=cifar10 data_root=data source=download
    python -m training.prepare_data dataset=ag_news data_root=results/smoke/data source=generated

Loading it here, once, means a missing or garbled dataset fails in one job with one clear message,
before any training job starts (and before parallel jobs could race to download the same files).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from core.app import hydra_app
from core.errors import SettingsError
from core.files import atomic_write_json
from training.config import DatasetFiles, RunRecord
from training.data import load_dataset
from training.data.generate import generate

log = logging.getLogger(__name__)


@dataclass
class GenerateConfig:
    """source=generated: small learnable data in the real on-disk formats."""

    seed: int = 0
    n_train: int | None = None  # per class; null = the generator's default
    n_test: int | None = None  # per class; null = the generator's default


@dataclass
class DataConfig(RunRecord, DatasetFiles):
    """Schema of conf/data.yaml; dataset, data_root and run_dir come from the shared pieces."""

    # download (torchvision, torchaudio, the AG News release) | local (already there) | generated
    source: str = "download"
    # optional JSON summary written when the data loads (sizes, classes): the pipeline's marker
    summary: str | None = None
    generate: GenerateConfig = field(default_factory=GenerateConfig)


ConfigStore.instance().store(name="data_schema", node=DataConfig)


def prepare_data(cfg: DictConfig) -> dict:
    """Make `cfg.dataset` available under `cfg.data_root` and return its summary."""
    if cfg.source not in ("download", "local", "generated"):
        raise SettingsError(f"source must be download, local or generated, got {cfg.source!r}")
    root = Path(cfg.data_root) / cfg.dataset.name
    if cfg.source == "generated":
        g = cfg.generate
        args = dict(seed=g.seed, n_train=g.n_train, n_test=g.n_test)
        if root.exists():  # a no-op when generated with these arguments; refused otherwise
            generate(cfg.dataset.name, root, **args)
        else:  # write aside and rename once complete: a killed job never leaves half a dataset
            partial = root.with_name(root.name + ".partial")
            generate(cfg.dataset.name, partial, force=True, **args)
            partial.rename(root)
    options = OmegaConf.to_container(cfg.dataset.options, resolve=True)
    bundle = load_dataset(cfg.dataset.name, root, download=cfg.source == "download", **options)
    summary = {
        "dataset": bundle.name,
        "domain": bundle.domain,
        "source": cfg.source,
        "root": str(root),
        "classes": list(bundle.classes),
        "train": len(bundle.train.labels),
        "test": len(bundle.test.labels),
        "input_shape": list(bundle.train.inputs.shape[1:]),
    }
    log.info("%s", json.dumps(summary))
    if cfg.summary:
        atomic_write_json(cfg.summary, summary)
    return summary


main = hydra_app(prepare_data, "data")


if __name__ == "__main__":
    main()
