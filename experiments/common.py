"""What the Zest apps share: data, model inputs, references from config, model predictors."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

import zest
from core.errors import SettingsError
from training.augment import normalize_images
from training.checkpoint import load_model
from training.data import DataBundle, load_dataset


def load_data(cfg: DictConfig) -> DataBundle:
    """The dataset named by `cfg.dataset`, read from `cfg.data_root/<name>`."""
    options = OmegaConf.to_container(cfg.dataset.options, resolve=True)
    root = Path(cfg.data_root) / cfg.dataset.name
    return load_dataset(cfg.dataset.name, root, download=cfg.download, **options)


def model_inputs(bundle: DataBundle, inputs: torch.Tensor) -> torch.Tensor:
    """Raw split inputs -> what the models take (images: uint8 -> normalized float)."""
    if bundle.domain == "image":
        return normalize_images(inputs, bundle.info["mean"], bundle.info["std"])
    return inputs


POINTS = ("train_first", "train_random")


def point_indices(num_train: int, points: str, count: int, seed: int) -> torch.Tensor:
    """Indices of the reference points in the training split.

    `train_first`: the first `count` points in canonical order (the authors' choice; the official
    CIFAR releases are shuffled, so these are a random sample there). `train_random`: `count`
    points drawn without replacement with `seed` (needed where the canonical order is class by class,
    as in image-folder and word-folder layouts); a larger `count` extends a smaller one.
    """
    if points not in POINTS:
        raise SettingsError(f"unknown reference.points {points!r}: one of {', '.join(POINTS)}")
    if count > num_train:
        raise SettingsError(f"asked for {count} points but the train split has {num_train}")
    if points == "train_first":
        return torch.arange(count)
    return torch.from_numpy(np.random.default_rng(seed).permutation(num_train)[:count])


def reference_points(bundle: DataBundle, cfg: DictConfig, count: int) -> torch.Tensor:
    """The model inputs of the reference points chosen by `cfg.reference` (Algorithm 1, line 1)."""
    r = cfg.reference
    idx = point_indices(len(bundle.train.labels), r.points, count, r.seed)
    return model_inputs(bundle, bundle.train.inputs[idx])


def segmenter(options: DictConfig):
    """The segmenter named by `reference.image` (zest.Quickshift, Slic or Grid)."""
    name = options.segmenter
    if name == "quickshift":
        return zest.Quickshift(options.kernel_size, options.max_dist, options.ratio)
    if name == "quickshift_scaled":
        return zest.Quickshift.scaled(
            kernel_size=options.kernel_size, max_dist=options.max_dist, ratio=options.ratio
        )
    if name == "slic":
        return zest.Slic(n_segments=options.slic_segments)
    if name == "grid":
        return zest.Grid(cells=(options.grid_cells, options.grid_cells))
    raise SettingsError(f"unknown segmenter {name!r}: quickshift, quickshift_scaled, slic or grid")


def make_reference(bundle: DataBundle, cfg: DictConfig) -> zest.Reference:
    """Build the reference set of `cfg.reference` for the bundle's domain (Algorithm 1, 1-4).

    The dataset's name joins the reference's options (and so its id), so that the apps can refuse
    models of another dataset (experiments.checks).
    """
    reference = _build_reference(bundle, cfg)
    return dataclasses.replace(reference, options={**reference.options, "dataset": bundle.name})


def _build_reference(bundle: DataBundle, cfg: DictConfig) -> zest.Reference:
    r = cfg.reference
    x = reference_points(bundle, cfg, r.num_points)
    common = dict(num_samples=r.num_samples, seed=r.seed)
    if bundle.domain == "image":
        return zest.image_reference(
            x,
            mean=bundle.info["mean"],
            std=bundle.info["std"],
            segmenter=segmenter(r.image),
            fill=r.image.fill,
            **common,
        )
    if bundle.domain == "text":
        mask = bundle.info["unk_index"] if r.text.mask == "unk" else bundle.info["pad_index"]
        return zest.text_reference(
            x,
            mask_token=mask,
            pad_token=bundle.info["pad_index"],
            features=r.text.features,
            **common,
        )
    return zest.audio_reference(x, num_segments=r.audio.num_segments, **common)


def predictor(model: torch.nn.Module, meta: dict, reference: zest.Reference | None = None):
    """The model as a black box on the reference's inputs.

    Image references store inputs normalized with the reference's mean/std; a model trained with
    another normalization gets them re-normalized to its own (the authors' code used one for both).
    """
    if reference is None or reference.domain != "image":
        return model
    ref_norm = (reference.options["mean"], reference.options["std"])
    own = meta.get("normalization") or {}
    own_norm = (own.get("mean", ref_norm[0]), own.get("std", ref_norm[1]))
    if [list(map(float, v)) for v in own_norm] == [list(map(float, v)) for v in ref_norm]:
        return model

    def shape(v, like):
        return torch.as_tensor(v, dtype=like.dtype, device=like.device)[None, :, None, None]

    def predict(x: torch.Tensor) -> torch.Tensor:
        pixels = x * shape(ref_norm[1], x) + shape(ref_norm[0], x)
        return model((pixels - shape(own_norm[0], x)) / shape(own_norm[1], x))

    return predict


def checkpoint_signature(
    path, reference: zest.Reference, cfg: DictConfig, device
) -> zest.Signature:
    """Load a checkpoint and compute its signature with the `cfg.signature` settings (on the
    model with its BatchNorms folded: the same function, faster; `zest.fold_batchnorm`)."""
    model, meta = load_model(path, device=device)
    return zest.compute_signature(
        predictor(zest.fold_batchnorm(model), meta, reference),
        reference,
        batch_size=cfg.signature.batch_size,
        solver=cfg.signature.solver,
        output=cfg.signature.output,
        device=device,
    )


def checkpoints(model_dir: str | Path, epochs=None) -> dict[int, Path]:
    """epoch -> checkpoint path of one training run's folder (only `epochs`, when given)."""
    found = {}
    for path in Path(model_dir).glob("epoch*.safetensors"):
        match = re.fullmatch(r"epoch(\d+)\.safetensors", path.name)
        if match:
            found[int(match.group(1))] = path
    if not found:
        raise SettingsError(f"no epoch*.safetensors checkpoints in {model_dir}")
    if epochs is not None:
        missing = sorted(set(epochs) - set(found))
        if missing:
            raise SettingsError(f"{model_dir} has no checkpoint of epochs {missing}")
        found = {e: found[e] for e in epochs}
    return dict(sorted(found.items()))


__all__ = [
    "checkpoint_signature",
    "checkpoints",
    "load_data",
    "load_model",
    "make_reference",
    "model_inputs",
    "predictor",
]


@torch.no_grad()
def batched_scores(model, inputs: torch.Tensor, device, batch_size: int = 256) -> torch.Tensor:
    """The model's scores on `inputs`, queried `batch_size` rows at a time, gathered on the CPU.

    The model runs with its BatchNorms folded (`zest.fold_batchnorm`) and, on CPU, image batches
    go in channels-last: the same scores up to float rounding, faster (benchmarks/).
    """
    model = zest.fold_batchnorm(model)
    layout = zest.signature.query_layout("auto", inputs, torch.device(device))
    chunks = inputs.split(batch_size)
    return torch.cat([model(c.to(device).contiguous(memory_format=layout)).cpu() for c in chunks])
