"""Tiny training runs for the tests: the training app's config for a smoke-sized CIFAR-10 ResNet20
(2 epochs, one thread, no progress bar) on generated data, and bitwise checkpoint comparison."""

from __future__ import annotations

from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from safetensors.torch import load_file

CONF = Path(__file__).resolve().parent.parent / "conf"


def train_config(data_root: Path, out_dir: Path | None, *overrides: str):
    """The composed `conf/train.yaml` of a tiny run, with `overrides` last."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=[
            "dataset=cifar10", "model=resnet20", "scale=smoke", f"data_root={data_root}",
            f"out_dir={out_dir}", "threads=1", "progress=false", "trainer.epochs=2", *overrides,
        ])  # fmt: skip


def same_weights(a: Path, b: Path) -> bool:
    """Whether two checkpoints hold the same tensors, bit for bit."""
    ta, tb = load_file(str(a)), load_file(str(b))
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
