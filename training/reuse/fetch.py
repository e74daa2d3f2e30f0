"""Downloads that never overwrite: a temporary file beside the target, moved in when complete.

The primitives of `training.reuse.download`: a download goes to a fresh hidden name beside its
target (`partial_path`, same filesystem), is moved into place only if nothing appeared there
meanwhile (`place`, `move_absent`), and any failure becomes one `DataError` naming the URL and
the target (`download_errors`).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from training.data.base import DataError

__all__ = ["download_errors", "fetch", "move_absent", "partial_path", "place", "sha256_file"]

CHUNK = 1 << 20  # bytes read at a time


def sha256_file(path: Path) -> str:
    """The hex sha256 of the file at `path`, read a chunk at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def partial_path(dest: Path) -> Path:
    """A fresh temporary name beside `dest` (same filesystem: moving it is one rename)."""
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.partial")


def place(tmp: Path, dest: Path) -> None:
    """Rename the finished `tmp` to `dest`; a file that appeared there meanwhile is kept."""
    if dest.exists():
        raise DataError(f"{dest} appeared while it was being downloaded; it was kept", dest)
    os.rename(tmp, dest)


def move_absent(src: Path, dest: Path, names: Sequence[str]) -> list[str]:
    """Move the entries `names` of `src` that `dest` lacks into `dest`; return the names moved."""
    dest.mkdir(parents=True, exist_ok=True)
    moved = []
    for name in names:
        if (src / name).exists() and not (dest / name).exists():
            os.rename(src / name, dest / name)
            moved.append(name)
    return moved


@contextmanager
def download_errors(url: str, dest: Path) -> Iterator[None]:
    """Any failure of the fetch inside becomes one DataError naming `url` and `dest`."""
    try:
        yield
    except DataError:
        raise
    except Exception as exc:  # network, checksum, disk: all end up as one clear error
        raise DataError(
            f"downloading {url} to {dest} failed ({type(exc).__name__}: {exc}). Check the "
            "internet connection, or download it elsewhere and place it there.",
            dest,
        ) from None


def fetch(url: str, dest: Path) -> str:
    """Download `url` to a temporary file beside `dest`, then move it there; return its sha256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp, digest = partial_path(dest), hashlib.sha256()
    try:
        with download_errors(url, dest):
            with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        place(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()
