"""Reading an untrusted safetensors file's header by hand, and what to call a file that fails.

`read_header` parses the 8-byte length and the JSON header of a safetensors file (tensor names,
dtypes, shapes, data offsets) without reading any tensor data, and checks that the file holds all
the data its header announces. Every failure is a `CheckpointError` that says which of three
things the file is: damaged (empty, truncated, garbled: re-download or retrain), a pickle or
`torch.save` archive (refused, never unpickled, so none of its code ran), or not a checkpoint of
this project.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from core.errors import UserError

__all__ = [
    "DTYPES", "RESTART", "CheckpointError", "check_file", "damaged", "damaged_resume", "foreign",
    "read_start", "is_int", "one_line", "pickled", "read_header", "weights_only_reason",
]  # fmt: skip

# safetensors dtype name -> torch dtype (the ones a state dict of this project can hold).
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_MAX_HEADER = 100_000_000  # the safetensors format's own limit on the header size
_PICKLE_KINDS = {b"PK\x03\x04": "a torch.save zip archive", b"\x80": "a pickle"}
RESTART = "Delete it (or move it away) to restart the run from scratch."


_MAX_HEADER = 100_000_000  # the safetensors format's own limit on the header size
_PICKLE_KINDS = {b"PK\x03\x04": "a torch.save zip archive", b"\x80": "a pickle"}
RESTART = "Delete it (or move it away) to restart the run from scratch."


class CheckpointError(UserError, RuntimeError):
    """A checkpoint or resume file is missing, damaged, or not in the safe format."""


def check_file(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}: check the path, or train the run that writes it"
        )


def read_start(path: Path, n: int) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path} ({one_line(exc)}); is it readable?") from None


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def weights_only_reason(exc: Exception) -> str:
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1].split(" was not an allowed global")[0]
    # torch's own advice (re-run with weights_only=False...) is what must not be done here
    text = text.split(" Check the documentation")[0].split(" Re-running")[0]
    return one_line(text.strip().rstrip("."), 120)


def damaged(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"{path} is damaged (truncated?): {detail}. Re-download or re-copy it, or retrain the run "
        "that wrote it."
    )


def damaged_resume(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(f"{path} is damaged (truncated?): {detail}. {RESTART}")


def foreign(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"refusing to load {path}: not a checkpoint of this project ({detail}). Use a checkpoint "
        "written by this project's training (training.checkpoint.save_model), or retrain it."
    )


def pickled(path: Path, kind: str) -> CheckpointError:
    return CheckpointError(
        f"refusing to load {path}: it is {kind}, not a safetensors checkpoint. Checkpoints are only "
        "read as safetensors, never unpickled, so none of its code ran. Convert it to safetensors "
        "where it came from (if you trust it), or retrain."
    )


def read_header(path: Path) -> tuple[dict | None, dict[str, tuple[str, tuple[int, ...]]]]:
    """Parse a safetensors header without reading any tensor data.

    Returns (the `__metadata__` dict or None, tensor name -> (dtype name, shape)).

    Raises:
        CheckpointError: damaged (empty, cut in the header or the data, garbled header), a
            pickle / torch.save archive, or not a safetensors file.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            prefix = f.read(9)
            length = int.from_bytes(prefix[:8], "little")
            if len(prefix) == 9 and 2 <= length <= _MAX_HEADER and prefix[8:] == b"{":
                raw = prefix[8:] + f.read(length - 1)
            else:
                raw = None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path} ({one_line(exc)}); is it readable?") from None
    if raw is None:  # not the start of a safetensors file with its first header byte
        if not prefix:
            raise damaged(path, "the file is empty")
        for magic, kind in _PICKLE_KINDS.items():
            if prefix.startswith(magic):
                raise pickled(path, kind)
        if len(prefix) <= 8 and _could_start_safetensors(prefix):
            raise damaged(path, f"it ends inside the safetensors header ({size} bytes)")
        raise foreign(path, "not a safetensors file")
    if len(raw) < length:
        raise damaged(
            path, f"it ends inside the safetensors header ({size} of at least {8 + length} bytes)"
        )
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise damaged(path, f"its safetensors header is garbled ({one_line(exc)})") from None
    if not isinstance(header, dict):
        raise damaged(path, "its safetensors header is garbled (not a JSON object)")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise damaged(path, "its safetensors header is garbled (__metadata__)")
    tensors, end = {}, 0
    for name, entry in header.items():
        spec = _tensor_spec(entry)
        if spec is None:
            raise damaged(path, f"its safetensors header is garbled (tensor {name!r})")
        dtype, shape, (begin, stop) = spec
        if dtype in DTYPES:
            nbytes = math.prod(shape) * DTYPES[dtype].itemsize
            if stop - begin != nbytes:
                raise damaged(path, f"its safetensors header is garbled (tensor {name!r} size)")
        tensors[name], end = (dtype, shape), max(end, stop)
    data = size - 8 - length
    if data < end:
        raise damaged(path, f"it holds {data} bytes of tensor data, its header announces {end}")
    return metadata, tensors


def _could_start_safetensors(prefix: bytes) -> bool:
    """Whether `prefix` (< 9 bytes) can begin a safetensors file (its 8-byte header length)."""
    if len(prefix) == 8:
        return 2 <= int.from_bytes(prefix, "little") <= _MAX_HEADER
    low = int.from_bytes(prefix, "little")  # the length's low bytes; the missing ones are >= 0
    return 2 <= low <= _MAX_HEADER or 256 ** len(prefix) <= _MAX_HEADER


def _tensor_spec(entry: Any) -> tuple[str, tuple[int, ...], tuple[int, int]] | None:
    """(dtype, shape, data offsets) of a header entry, or None when it is malformed."""
    if not isinstance(entry, dict):
        return None
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not isinstance(offsets, list):
        return None
    if not all(is_int(d) and d >= 0 for d in shape):
        return None
    if len(offsets) != 2 or not all(is_int(o) for o in offsets):
        return None
    if not 0 <= offsets[0] <= offsets[1]:
        return None
    return dtype, tuple(shape), (offsets[0], offsets[1])


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
