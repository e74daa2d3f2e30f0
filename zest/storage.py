"""Reading and writing the `.npz` files of references and signatures, safely.

Writes are atomic: the archive goes to a temporary file in the destination's folder, is flushed
to disk, and replaces the destination in one `os.replace`; a failure (a full disk, a kill) leaves
the previous file as it was. Reads never unpickle (`allow_pickle=False`) and turn every way an
archive can be damaged into one `ZestError` naming the file.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import ZestError


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(file)` on a temporary file beside `path`, flush it to disk, then move it into
    place with one `os.replace`; on any failure the temporary file is removed and `path` is left
    as it was. The temporary file is named `.<name>.<random>.tmp`; `path`'s folder must exist."""
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


def save_npz(path: str | os.PathLike, meta: dict, arrays: dict, *, compressed: bool) -> None:
    """Write `meta` (as JSON) and `arrays` to one `.npz` at `path`, atomically.

    Args:
        path: Destination, used as given (no suffix is added). Its folder must exist.
        meta: JSON-able description, stored under the name `meta`.
        arrays: name -> numpy array.
        compressed: zlib-compress the arrays.

    Raises:
        ZestError: the destination's folder does not exist.
        OSError: the write failed (nothing was changed at `path`).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ZestError(f"cannot write {path}: no folder {path.parent}")
    save = np.savez_compressed if compressed else np.savez
    atomic_write(
        path, lambda f: save(f, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    )


def rebuild(path, kind: str, build: Callable[[], Any], stored_id: str, remedy: str) -> Any:
    """`build()` the object a file describes, then check its content id against the stored one.

    Raises:
        ZestError: the arrays do not make a valid object (damaged), or its content id differs
            from `stored_id` (the file was changed after it was written; `remedy` says what to do).
    """
    try:
        obj = build()
    except ZestError as exc:
        raise ZestError(f"{path} is a damaged zest {kind}: {exc}") from None
    if obj.id != stored_id:
        raise ZestError(
            f"{path}: content id {obj.id} != stored id {stored_id} (the file was changed after "
            f"it was written); {remedy}"
        )
    return obj


def load_npz(path: str | os.PathLike, kind: str, names: tuple[str, ...]) -> tuple[dict, dict]:
    """Read a file written by `save_npz`: its meta and the arrays `names` (those present).

    Args:
        path: The file.
        kind: What the file should be, for messages ("reference", "signature").
        names: Arrays to read; absent ones are left out of the result.

    Returns:
        (meta, arrays).

    Raises:
        ZestError: missing file, not a zest `kind` file, or a damaged one (truncated archive,
            corrupt data, pickled objects, undecodable meta).
    """
    path = Path(path)
    if not path.is_file():
        raise ZestError(f"no {kind} file at {path}")
    damaged = (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ZestError(f"{path} is not a zest {kind} file (not an .npz archive)")
        with data:
            if "meta" not in data:
                raise ZestError(f"{path} is not a zest {kind} file (no 'meta' entry)")
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in names if name in data}
    except ZestError:
        raise
    except damaged as exc:
        raise ZestError(
            f"{path} is damaged or not a zest {kind} file ({type(exc).__name__}: {exc}); "
            f"write it again"
        ) from None
    if not isinstance(meta, dict):
        raise ZestError(f"{path} is not a zest {kind} file (its meta is not a JSON object)")
    return meta, arrays
