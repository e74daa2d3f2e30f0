"""The resume state `resume.pt` of a training run, loaded without running code.

It holds the optimizer/scheduler/RNG state and the run's history (training.rundir): a plain dict
of tensors and Python primitives saved with `torch.save` and read back with
`torch.load(weights_only=True)`, which refuses any pickled object that is not such a primitive (no
code runs). It is written atomically (core.files). Every failure to read it is a
`CheckpointError` that says to delete the file to restart the run.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from core.files import atomic_write
from training.safetensors_header import (
    RESTART,
    CheckpointError,
    check_file,
    damaged_resume,
    one_line,
    read_start,
    weights_only_reason,
)

__all__ = ["load_resume", "save_resume"]


def save_resume(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Save the resume state (tensors, numbers, strings, lists, dicts only) atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, buffer.getvalue())


def load_resume(path: str | os.PathLike) -> dict[str, Any]:
    """Load a resume state with `torch.load(weights_only=True)`: arbitrary pickles are refused.

    Raises:
        CheckpointError: missing file; damaged (empty or truncated); a file holding anything but
            tensors and primitives (refused: a crafted pickle's code never runs); or not a resume
            state at all. The message says to delete the file to restart the run.
    """
    path = Path(path)
    check_file(path)
    head = read_start(path, 8)
    zip_magic = b"PK\x03\x04"
    if not head:
        raise damaged_resume(path, "the file is empty")
    if zip_magic.startswith(head[:4]) and (len(head) < 4 or not zipfile.is_zipfile(path)):
        raise damaged_resume(path, "the torch.save archive lacks its end (central directory)")
    if not head.startswith((zip_magic, b"\x80")):
        raise CheckpointError(
            f"refusing to load {path}: not a resume state of this project (not a torch.save "
            f"archive). {RESTART}"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refusing to load {path}: it is not a plain resume state (torch.load with "
            f"weights_only=True rejected it, so none of its code ran: {weights_only_reason(exc)}). "
            f"{RESTART}"
        ) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path} ({one_line(exc)}); is it readable?") from None
    except Exception as exc:  # any failure to parse an untrusted file
        raise damaged_resume(path, f"torch.load cannot read it: {one_line(exc)}") from None
    if not isinstance(state, dict):
        raise CheckpointError(
            f"refusing to load {path}: not a resume state of this project (it holds a "
            f"{type(state).__name__}, not a dict). {RESTART}"
        )
    return state
