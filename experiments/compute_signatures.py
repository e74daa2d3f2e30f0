"""Compute the Zest signature of every checkpoint of one training run on one reference set.

    python -m experiments.compute_signatures reference_path=ref.npz model_dir=models/.../seed0 \
        signature_dir=signatures/.../seed0 [signature.batch_size=2048] [device=cuda]

Writes `signature_dir/epoch{E}.npz` for every `model_dir/epoch{E}.safetensors`. One process per run
loads the reference (and computes its pseudo-inverses) once for all checkpoints.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig
from tqdm import tqdm

import zest
from core.app import hydra_app
from core.errors import SettingsError
from core.runtime import pick_device, set_threads
from experiments import config  # noqa: F401  (registers compute_signatures_schema)
from experiments.checks import (
    check_settings,
    check_tasks,
    input_dir,
    input_file,
    model_task,
    reference_task,
)
from experiments.common import checkpoint_signature, checkpoints

log = logging.getLogger(__name__)


def compute_signatures(cfg: DictConfig) -> list[Path]:
    """One signature per checkpoint of `cfg.model_dir`, saved under `cfg.signature_dir`."""
    check_settings(cfg)
    reference = zest.Reference.load(input_file(cfg.reference_path, "reference_path"))
    found = checkpoints(input_dir(cfg.model_dir, "model_dir"), cfg.epochs)
    if not cfg.signature_dir:
        raise SettingsError("set signature_dir=<folder>")
    if Path(cfg.signature_dir).exists() and not Path(cfg.signature_dir).is_dir():
        raise SettingsError(f"signature_dir: {cfg.signature_dir} is a file, not a folder")
    ref_task = reference_task(reference)
    check_tasks(ref_task, {f"{path}": model_task(path) for path in found.values()})
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    out_dir = Path(cfg.signature_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for epoch, path in tqdm(found.items(), desc="signatures", unit="ckpt"):
        start = time.perf_counter()
        signature = checkpoint_signature(path, reference, cfg, device)
        target = out_dir / f"epoch{epoch}.npz"
        signature.save(target)
        written.append(target)
        log.info("%s: %s in %.2f s", target, signature.weights.shape, time.perf_counter() - start)
    return written


main = hydra_app(compute_signatures, "compute_signatures")


if __name__ == "__main__":
    main()
