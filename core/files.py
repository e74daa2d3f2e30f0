"""The project's one atomic writer: checkpoints, run records, result tables, figures.

A file is written to a temporary file beside it, flushed to disk and moved into place with one
`os.replace`, so a killed job leaves the old file or the new one, never half of one. (The library
keeps its own, `zest.storage.atomic_write`, for its `.npz` files: `zest/` imports nothing of the
project, and the project's ground floor imports nothing of `zest/`.)
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["atomic_write", "atomic_write_json", "atomic_write_tsv"]


def atomic_write(
    path: str | os.PathLike, data: bytes | str | Callable[[BinaryIO], object]
) -> Path:
    """Write `data` (bytes, text as UTF-8, or a function that writes to a binary file) to `path`.

    The folder is created if needed; the temporary file `.<name>.<random>.tmp` gets the umask's
    permissions like any new file and is removed on any failure, leaving `path` as it was.
    Returns `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    write = data if callable(data) else (lambda f: f.write(data))
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """`obj` as indented JSON, atomically."""
    return atomic_write(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_write_tsv(table, path: str | os.PathLike) -> Path:
    """A `pandas.DataFrame` as a tab-separated table with a header row, atomically."""
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False)
    return atomic_write(path, buffer.getvalue())
