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


def constant_victim(path: Path, label: int = 3) -> Path:
    """A CIFAR-10 ResNet20 checkpoint that answers `label` to every input (logit 10, others 0)."""
    from training.checkpoint import save_model
    from training.models import build_model

    torch.manual_seed(0)
    model = build_model("resnet20", 10, width=4)
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.nn.functional.one_hot(torch.tensor(label), 10) * 10.0)
    norm = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # conf/dataset/cifar10
    meta = {"arch": "resnet20", "num_classes": 10, "model_kwargs": {"width": 4}}
    meta |= {"normalization": norm, "dataset": "cifar10", "epoch": 0, "seed": 0}
    save_model(path, model, meta)
    return path
