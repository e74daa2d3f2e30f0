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

import hydra
from omegaconf import DictConfig
from tqdm import tqdm

import zest
from experiments import config  # noqa: F401  (registers zest_schema)
from experiments.common import checkpoint_signature, checkpoints
from training.runtime import pick_device, set_threads

log = logging.getLogger(__name__)


def compute_signatures(cfg: DictConfig) -> list[Path]:
    """One signature per checkpoint of `cfg.model_dir`, saved under `cfg.signature_dir`."""
    for key in ("reference_path", "model_dir", "signature_dir"):
        if not cfg[key]:
            raise ValueError(f"set {key}=<path>")
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    reference = zest.Reference.load(cfg.reference_path)
    out_dir = Path(cfg.signature_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for epoch, path in tqdm(
        checkpoints(cfg.model_dir, cfg.epochs).items(), desc="signatures", unit="ckpt"
    ):
        start = time.perf_counter()
        signature = checkpoint_signature(path, reference, cfg, device)
        target = out_dir / f"epoch{epoch}.npz"
        signature.save(target)
        written.append(target)
        log.info("%s: %s in %.2f s", target, signature.weights.shape, time.perf_counter() - start)
    return written


@hydra.main(config_path="../conf", config_name="zest", version_base=None)
def main(cfg: DictConfig) -> None:
    compute_signatures(cfg)


if __name__ == "__main__":
    main()
