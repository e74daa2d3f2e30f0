"""One model of the ModelReuse zoo, made by the last op of its chain (experiments.modelreuse's
build step): a root (ImageNet weights, or trained on the source dataset as their stand-in), a
model trained from scratch, or a transfer, prune, distillation or theft of its parent.

Each model's seed derives from its chain and the benchmark's seed (`model_seed`), so a chain
names one model whatever else the zoo holds.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import torch

from core.errors import SettingsError
from training.checkpoint import load_model
from training.reuse import ops
from training.reuse.chain import Chain
from training.reuse.data import load_benchmark_data, num_classes_of

__all__ = ["build_model", "model_seed"]


def model_seed(chain: Chain, seed: int) -> int:
    """Each model's seed, derived from its chain and the benchmark's seed (recorded with it)."""
    return (zlib.crc32(str(chain).encode()) + seed) % 2**31


def build_model(
    chain: Chain, s, data_root: str | None, parent: Path | None, device: torch.device
) -> tuple[torch.nn.Module, dict[str, Any], dict[str, Any]]:
    """(model, checkpoint metadata, record: `accuracy` on the test split and the op's own) of
    `chain`, with the benchmark's settings `s` (experiments.studies.modelreuse.Settings) and its
    parent's checkpoint `parent` (None for a root or a model trained from scratch)."""
    seed, op = model_seed(chain, s.seed), chain.last
    kwargs = lambda arch: dict(s.model_kwargs.get(arch, {}))  # noqa: E731
    budget = lambda name: ops.Budget(**vars(s.budgets[name]))  # noqa: E731
    train = dict(seed=seed, device=device)
    needs_data = not (op.name == "pretrain" and op.args[0] in s.weights)
    data = load_benchmark_data(chain.dataset, data_root) if needs_data else None
    n = num_classes_of(chain.dataset)
    if op.name == "pretrain":
        model, record = _root(chain, s, data, n, seed, device, budget("pretrain"), kwargs)
    elif op.name == "train":
        arch = op.args[0]
        model, record = ops.train_scratch(
            arch, kwargs(arch), n, data.train, budget("train"), **train
        )
    else:
        model, record = _derived(chain, load_model(parent, device=device)[0], data, n, budget,
                                 kwargs, train)  # fmt: skip
    accuracy = ops.accuracy(model, data.test, device=device) if data is not None else None
    meta = {"arch": chain.arch, "num_classes": n, "model_kwargs": kwargs(chain.arch),
            "dataset": chain.dataset, "domain": "image", "chain": str(chain), "seed": seed,
            "normalization": {"mean": list(data.mean), "std": list(data.std)} if data else None}  # fmt: skip
    return model, meta, {"accuracy": accuracy, **record}


def _root(chain: Chain, s, data, n: int, seed: int, device, budget, kwargs):
    """A root: the given ImageNet weights, else trained on the source dataset (the stand-in)."""
    arch = chain.last.args[0]
    if arch in s.weights:
        model = ops.root_model(arch, kwargs(arch), n, head=s.root_head, weights=s.weights[arch],
                               seed=seed)  # fmt: skip
        return model, {"weights": s.weights[arch]}
    model, record = ops.train_scratch(arch, kwargs(arch), n, data.train, budget, seed=seed,
                                      device=device)  # fmt: skip
    record["deviation"] = f"root trained on {chain.dataset} (no ImageNet weights given)"
    if s.root_head == "random":  # its accuracy before, as ImageNet's weights have one
        record["test_accuracy_before_new_head"] = ops.accuracy(model, data.test, device=device)
        ops.new_head(model, n, seed=seed + 1)
    return model, record


def _derived(chain: Chain, parent: torch.nn.Module, data, n: int, budget, kwargs, train):
    """The parent transferred, pruned, distilled or stolen."""
    op = chain.last
    if op.name == "transfer":
        return ops.transfer(parent, n, float(op.args[1]), data.train, budget("transfer"), **train)
    if op.name == "prune":
        return ops.prune(parent, float(op.args[0]), data.train, budget("prune"), **train)
    if op.name == "distill":
        return ops.distill(parent, data.train, budget("distill"), arch=chain.arch,
                           model_kwargs=kwargs(chain.arch), **train)  # fmt: skip
    if op.name == "steal":
        return ops.steal(parent, chain.arch, kwargs(chain.arch), n, data.train, budget("steal"),
                         **train)  # fmt: skip
    raise SettingsError(f"{chain}: cannot build op {op.name}")
