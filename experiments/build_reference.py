"""Build a reference set (inputs, segments, masks) shared by every model of a dataset.

    python -m experiments.build_reference dataset=cifar10 data_root=../shared/data out=ref.npz \
        [reference.num_points=128] [reference.num_samples=1000] [reference.image.segmenter=slic]
"""

from __future__ import annotations

import logging

import numpy as np
from omegaconf import DictConfig

from core.app import hydra_app
from core.runtime import set_threads
from experiments import config  # noqa: F401  (registers build_reference_schema)
from experiments.checks import check_settings, output_file
from experiments.common import load_data, make_reference

log = logging.getLogger(__name__)


def build_reference(cfg: DictConfig):
    """Load the data, build the reference of `cfg.reference`, save it to `cfg.out`."""
    check_settings(cfg)
    out = output_file(cfg.out, "out")
    set_threads(cfg.threads)
    reference = make_reference(load_data(cfg), cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    reference.save(out)
    k = reference.num_features
    log.info(
        "%s: N=%d points, L=%d samples, features per point min %d / median %d / max %d, id %s",
        cfg.out,
        reference.num_points,
        reference.num_samples,
        k.min(),
        int(np.median(k)),
        k.max(),
        reference.id,
    )
    return reference


main = hydra_app(build_reference, "build_reference")


if __name__ == "__main__":
    main()
