"""Self-describing model checkpoints and the resume state, both loaded without running code.

- `epoch{E}.safetensors`: the model's tensors, with the metadata needed to rebuild it
  (architecture, number of classes, model kwargs, input normalization, dataset, domain, epoch, ...)
  stored as JSON under the `zest` key of the safetensors header. `load_model` rebuilds it with
  `build_model`.
- `resume.pt`: optimizer/scheduler/RNG state and the run's history, a plain dict of tensors and
  Python primitives saved with `torch.save` and read back with `torch.load(weights_only=True)`,
  which refuses any pickled object that is not such a primitive (no code runs).

Every file is written atomically: to a temporary file in the same folder, flushed, then moved into
place with `os.replace`, so a killed process leaves either the old file or the new one.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from training.errors import UserError
from training.models import build_model

__all__ = [
    "CheckpointError",
    "atomic_write_bytes",
    "atomic_write_json",
    "load_model",
    "load_resume",
    "read_meta",
    "save_model",
    "save_resume",
]

META_KEY = "zest"
FORMAT_VERSION = 1
_REQUIRED = ("arch", "num_classes")


class CheckpointError(UserError, RuntimeError):
    """A checkpoint or resume file is missing, damaged, or not in the safe format."""


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file in the same folder, fsync, `os.replace`).

    The temp file is created like any new file (permissions from the umask), named
    `.<name>.<random>.tmp`, and removed if anything fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


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
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata=header))


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a checkpoint, without loading its tensors.

    Raises:
        CheckpointError: missing file, not a safetensors file, or no Zest metadata.
    """
    path = Path(path)
    _check_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise _not_safetensors(path, exc) from None
    if META_KEY not in header:
        raise CheckpointError(
            f"{path} is a safetensors file without Zest metadata (no {META_KEY!r} header entry); "
            "it was not written by training.checkpoint.save_model."
        )
    try:
        meta = json.loads(header[META_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: damaged metadata ({exc})") from None
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise CheckpointError(f"{path}: metadata lacks {missing}")
    return meta


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model from a checkpoint written by `save_model`. No code is unpickled.

    Args:
        path: a `.safetensors` checkpoint.
        device: where to put the model.

    Returns:
        (model in eval mode on `device`, metadata dict).

    Raises:
        CheckpointError: the file is missing, not safetensors (e.g. a pickle), or does not match
            the architecture its metadata names.
    """
    path = Path(path)
    meta = read_meta(path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, ValueError) as exc:
        raise _not_safetensors(path, exc) from None
    model = build_model(meta["arch"], int(meta["num_classes"]), **meta.get("model_kwargs", {}))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: tensors do not fit {meta['arch']}: {exc}") from None
    return model.to(device).eval(), meta


def save_resume(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Save the resume state (tensors, numbers, strings, lists, dicts only) atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_resume(path: str | os.PathLike) -> dict[str, Any]:
    """Load a resume state with `torch.load(weights_only=True)`: arbitrary pickles are refused.

    Raises:
        CheckpointError: missing file, or a file holding anything but tensors and primitives
            (a crafted pickle's code never runs).
    """
    path = Path(path)
    _check_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refusing to load {path}: it is not a plain resume state (torch.load with "
            f"weights_only=True rejected it, so none of its code ran). Details: {exc}"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"cannot read resume state {path}: {exc}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict, found {type(state).__name__}")
    return state


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")


def _not_safetensors(path: Path, exc: Exception) -> CheckpointError:
    with path.open("rb") as f:
        head = f.read(2)
    kind = {b"PK": "a torch.save zip archive", b"\x80": "a pickle"}.get(
        head if head == b"PK" else head[:1], "not a safetensors file"
    )
    return CheckpointError(
        f"refusing to load {path}: {kind}, not a safetensors checkpoint. Checkpoints are only "
        f"read as safetensors, never unpickled, so none of its code ran. ({exc})"
    )
