"""Compare two checkpoints with Zest: distance, relative distance and a verdict.

    python -m experiments.compare dataset=cifar10 data_root=../shared/data \
        compare.a=models/.../seed0/epoch200.safetensors compare.b=suspect.safetensors \
        'compare.independent=[models/.../seed1/epoch200.safetensors,models/.../seed2/epoch200.safetensors]'

The reference set is `reference_path` when given, else it is built from the dataset with the
`reference.*` settings. The independent models define "unrelated": the null distribution is the
distances between a and each independent model and between every two independent models.
"""

from __future__ import annotations

from itertools import combinations

import hydra
from omegaconf import DictConfig

import zest
from experiments import config  # noqa: F401  (registers zest_schema)
from experiments.common import checkpoint_signature, load_data, make_reference
from training.runtime import pick_device, set_threads


def compare(cfg: DictConfig) -> dict:
    """Signatures of a, b and the independent models on one reference, then the verdict."""
    c = cfg.compare
    if not c.a or not c.b:
        raise ValueError("set compare.a=<checkpoint> and compare.b=<checkpoint>")
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    if cfg.reference_path:
        reference = zest.Reference.load(cfg.reference_path)
    else:
        reference = make_reference(load_data(cfg), cfg)

    def signature(path: str) -> zest.Signature:
        return checkpoint_signature(path, reference, cfg, device)

    sig_a, sig_b = signature(c.a), signature(c.b)
    align = None if cfg.distance.align == "none" else cfg.distance.align
    result = {"distance": zest.distance(sig_a, sig_b, metric=c.metric, align=align)}
    print(
        f"Zest {c.metric} distance between\n  a = {c.a}\n  b = {c.b}\n: {result['distance']:.6g}"
    )
    if c.independent:
        others = [signature(p) for p in c.independent]
        pairs = [(sig_a, o) for o in others] + list(combinations(others, 2))
        v = zest.verdict(
            sig_a, sig_b, pairs, metric=c.metric, align=align, n_bootstrap=c.n_bootstrap
        )
        result["verdict"] = v
        print(f"against {len(pairs)} independent pairs: {v}")
    else:
        print("(give compare.independent=[...] checkpoints for a relative distance and a verdict)")
    return result


@hydra.main(config_path="../conf", config_name="zest", version_base=None)
def main(cfg: DictConfig) -> None:
    compare(cfg)


if __name__ == "__main__":
    main()
