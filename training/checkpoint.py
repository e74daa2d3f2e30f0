"""Self-describing model checkpoints, loaded without running code.

`epoch{E}.safetensors` holds the model's tensors, with the metadata needed to rebuild it
(architecture, number of classes, model kwargs, input normalization, dataset, domain, epoch, ...)
stored as JSON under the `zest` key of the safetensors header. `load_model` rebuilds it with
`build_model`. (The resume state, `resume.pt`, is training.resume's.) Files are written atomically
(core.files), so a killed process leaves either the old file or the new one.

Nothing in a file is trusted before it is checked: `read_meta` parses the safetensors header itself
(tensor names, dtypes, shapes, offsets; no tensor data), checks that the file holds all the data its
header announces and that the metadata is well-typed and consistent (a known architecture, its
domain, its dataset's domain, its class list); `load_model` then builds the architecture on the
`meta` device (no memory, no RNG draw), compares every tensor name, shape and dtype with the header,
and only then allocates the model and reads the tensors. Every failure is a `CheckpointError` whose
message names the file and says whether it is damaged (truncated?), not a checkpoint of this project,
or refused as a pickle that was never run.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from core.datasets import DATASETS
from core.files import atomic_write
from training.models import ARCHS, DOMAINS, build_model, check_model_options
from training.models.meta import TooManyTensors, build_on_meta
from training.safetensors_header import (
    DTYPES,
    CheckpointError,
    check_file,
    damaged,
    foreign,
    is_int,
    one_line,
    read_header,
)

__all__ = ["CheckpointError", "load_model", "read_meta", "save_model"]

META_KEY = "zest"
FORMAT_VERSION = 1
_REQUIRED = ("arch", "num_classes")


def save_model(path: str | os.PathLike, model: nn.Module, meta: dict[str, Any]) -> None:
    """Save a model's state dict as safetensors with its metadata, atomically.

    Args:
        path: destination, e.g. `out_dir/epoch10.safetensors`.
        model: the model (any device).
        meta: JSON-serializable; must hold `arch` and `num_classes`, should hold `model_kwargs`,
            `normalization` ({"mean", "std"} or None), `dataset`, `domain`, `epoch`.

    Raises:
        ValueError: `meta` lacks a required key or is not JSON-serializable.
    """
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    meta = {"format_version": FORMAT_VERSION, "model_kwargs": {}, **meta}
    try:
        header = {META_KEY: json.dumps(meta, sort_keys=True)}
    except TypeError as exc:
        raise ValueError(f"checkpoint metadata is not JSON-serializable: {exc}") from None
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, save_safetensors_bytes(tensors, metadata=header))


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a checkpoint, checked, without loading its tensors.

    Raises:
        CheckpointError: missing file; damaged (truncated, garbled header); a pickle or torch.save
            archive (refused, never unpickled); or not a checkpoint of this project (no Zest
            metadata, or metadata of the wrong types or contradicting itself).
    """
    return _read_checked(Path(path))[0]


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model from a checkpoint written by `save_model`. No code is unpickled.

    The file is checked before anything is allocated: header and metadata (`read_meta`), then the
    architecture is built on the `meta` device and its tensor names, shapes and dtypes compared
    with the header. Only then is the model allocated (on `device`) and its tensors read.

    Args:
        path: a `.safetensors` checkpoint.
        device: where to put the model.

    Returns:
        (model in eval mode on `device`, metadata dict).

    Raises:
        CheckpointError: the file is missing, damaged, not safetensors (e.g. a pickle), or does
            not match the architecture its metadata names.
    """
    path = Path(path)
    meta, header = _read_checked(path)
    arch, num_classes = meta["arch"], meta["num_classes"]
    kwargs = meta.get("model_kwargs", {})
    skeleton = _skeleton(path, arch, num_classes, kwargs, limit=10 * len(header) + 1000)
    expected = {k: (v.dtype, tuple(v.shape)) for k, v in skeleton.state_dict().items()}
    found = {k: (DTYPES.get(dtype, dtype), shape) for k, (dtype, shape) in header.items()}
    if found != expected:
        raise foreign(
            path,
            f"its tensors do not fit its metadata, {arch} with {num_classes} classes and "
            f"model_kwargs {kwargs}: {_differences(found, expected)}",
        )
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise damaged(path, f"its tensors cannot be read ({one_line(exc)})") from None
    persistent = set(expected)
    if any(name not in persistent for name, _ in skeleton.named_buffers()):
        # buffers outside the state dict are set by the constructor: build for real
        model = build_model(arch, num_classes, **kwargs)
    else:  # allocate, uninitialized: every tensor is overwritten below. Like `to_empty`, but
        # `torch.empty_like` of a meta tensor would import torch's symbolic machinery (~1 s)
        model = skeleton._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device=device))
    try:  # a copy: the tensors of `load_file` live in a map of the file, which may change
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # cannot happen after the comparison above; kept as a guard
        raise foreign(path, f"its tensors do not fit {arch}: {one_line(exc)}") from None
    return model.to(device).eval(), meta


def _read_checked(path: Path) -> tuple[dict[str, Any], dict[str, tuple[str, tuple[int, ...]]]]:
    """(checked metadata, tensor name -> (safetensors dtype, shape)) of a checkpoint."""
    check_file(path)
    metadata, tensors = read_header(path)
    if metadata is None or META_KEY not in metadata:
        raise foreign(
            path,
            f"a safetensors file without Zest metadata: no {META_KEY!r} header entry",
        )
    try:
        meta = json.loads(metadata[META_KEY])
    except (TypeError, json.JSONDecodeError) as exc:
        raise damaged(path, f"its Zest metadata is garbled ({one_line(exc)})") from None
    problem = _meta_problem(meta)
    if problem:
        raise foreign(path, problem)
    return meta, tensors


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _meta_problem(meta: Any) -> str | None:
    """What is wrong with a checkpoint's metadata (types, consistency), or None."""
    if not isinstance(meta, dict):
        return f"its Zest metadata is a {type(meta).__name__}, not a JSON object"
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        return f"its metadata lacks {', '.join(missing)}"
    arch, num_classes = meta["arch"], meta["num_classes"]
    if not isinstance(arch, str) or arch not in ARCHS:
        return f"unknown architecture {arch!r} (known: {', '.join(ARCHS)})"
    if not is_int(num_classes) or num_classes < 1:
        return f"num_classes must be a positive integer, got {num_classes!r}"
    version = meta.get("format_version", FORMAT_VERSION)
    if not is_int(version) or version > FORMAT_VERSION:
        return f"format_version {version!r}; this version of the project reads {FORMAT_VERSION}"
    kwargs = meta.get("model_kwargs", {})
    if not isinstance(kwargs, dict):
        return f"model_kwargs must be a JSON object, got {kwargs!r}"
    try:
        check_model_options(arch, kwargs)
    except (TypeError, ValueError) as exc:
        return f"model_kwargs: {exc}"
    for key, value in kwargs.items():
        if not isinstance(value, int | float | str | bool | type(None)):
            return f"model_kwargs.{key} must be a number or a string, got {value!r}"
    domain = DOMAINS[arch]
    if "domain" in meta and meta["domain"] != domain:
        return f"its metadata says domain {meta['domain']!r}, but {arch} takes {domain} inputs"
    dataset = meta.get("dataset")
    if dataset is not None and not isinstance(dataset, str):
        return f"dataset must be a name, got {dataset!r}"
    if dataset in DATASETS and DATASETS[dataset].domain != domain:
        return (
            f"its metadata says dataset {dataset!r} ({DATASETS[dataset].domain}), but {arch} "
            f"takes {domain} inputs"
        )
    classes = meta.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            return "classes must be a list of class names"
        if len(classes) != num_classes:
            return f"its metadata lists {len(classes)} classes but says num_classes {num_classes}"
    norm = meta.get("normalization")
    if norm is not None:
        ok = isinstance(norm, dict) and all(
            isinstance(norm.get(k), list) and norm[k] and all(_is_number(v) for v in norm[k])
            for k in ("mean", "std")
        )
        if not ok or len(norm["mean"]) != len(norm["std"]) or 0 in norm["std"]:
            return f"normalization must be {{'mean': [...], 'std': [...]}} or null, got {norm!r}"
    for key in ("epoch", "seed"):
        if key in meta and not (is_int(meta[key]) and meta[key] >= 0):
            return f"{key} must be a non-negative integer, got {meta[key]!r}"
    return None


def _skeleton(path: Path, arch: str, num_classes: int, kwargs: dict, limit: int) -> nn.Module:
    """The architecture on the meta device, or a CheckpointError blaming the metadata."""
    try:
        return build_on_meta(arch, num_classes, kwargs, limit)
    except TooManyTensors:
        raise foreign(
            path, f"its metadata asks {arch} for far more tensors than the file holds"
        ) from None
    except Exception as exc:  # untrusted metadata: any failure is its fault
        raise foreign(path, f"{arch} cannot be built from its metadata: {one_line(exc)}") from None


def _differences(found: dict, expected: dict, show: int = 3) -> str:
    """The first few differences between the file's tensors and the architecture's."""
    lines = []
    for k, (ed, es) in expected.items():  # in the architecture's order
        if k not in found:
            lines.append(f"{k} is missing")
        elif found[k] != expected[k]:
            fd, fs = found[k]
            have, want = str(list(fs)), str(list(es))
            if fd != ed:
                have, want = f"{fd} {have}", f"{ed} {want}"
            lines.append(f"{k} is {have} in the file, {want} per the metadata")
    lines += [f"unexpected {k}" for k in sorted(found) if k not in expected]
    more = f" (and {len(lines) - show} more)" if len(lines) > show else ""
    return "; ".join(lines[:show]) + more
