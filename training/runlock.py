"""One writer per run folder: `hold(folder)` locks `folder/.lock` for as long as the block runs.

A second process that wants the same folder fails at once with `RunLockedError`, whose message
names the holder (host, pid, SLURM job, since when, command) and what to do; the apps report it as
one line and exit with status 2 (`core.app`). The lock is `flock(2)`'s: the kernel releases it
when the holding process ends, however it ends (`scancel`, `kill -9`). It works on local file
systems and on NFS (since Linux 2.6.12 the NFS client emulates `flock` with POSIX byte-range
locks on the whole file; see flock(2), and the `local_lock` option in nfs(5), which makes such
locks local to one node).

The lock file is removed on release, while still locked, so a finished or refused run leaves its
folder as it was; a process that opened the old file before it was removed sees, once it holds
the lock, that the path no longer names its file, and takes the new one. A holder killed before it
could remove the file leaves it behind: the next holder takes it over.

The lock is opened without following a link: a `.lock` that is not a regular file (a link, a
folder, a pipe) was not left by a run, and writing through it would change another file, so it is
refused (`RunFolderError`) and left as it is; so is a folder that cannot be made because a file
stands in its path.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from core.errors import UserError

__all__ = ["LOCK", "RunFolderError", "RunLockedError", "hold"]

LOCK = ".lock"


class RunLockedError(UserError, RuntimeError):
    """Another process holds the folder's lock: it is writing there right now."""


class RunFolderError(UserError, RuntimeError):
    """The folder cannot be a run's: a file stands in its path, or its `.lock` is no regular file."""


@contextlib.contextmanager
def hold(folder: Path, what: str = "training run") -> Iterator[None]:
    """Hold the lock of `folder` (created if needed) for the block, or fail at once.

    Args:
        folder: The folder to write, e.g. a training run's out_dir.
        what: What the holder does there, for the message of a refused second writer.

    Raises:
        RunLockedError: another process holds it; the message names that process.
        RunFolderError: a file stands where `folder` or one of its parents must be, or
            `folder/.lock` is not a regular file (a link, folder or pipe: left as it is).
    """
    folder, path = Path(folder), Path(folder) / LOCK
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    while True:
        try:
            _make(folder)
            file = os.fdopen(_open_lock(path), "r+", encoding="utf-8")  # closed on release
        except FileNotFoundError:  # a refused run removed the folder it had made: make it again
            continue
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read()
            file.close()
            raise RunLockedError(_refusal(folder, what, holder)) from None
        if _names(path, file):
            break
        file.close()  # its holder removed that file as it let go: lock the current one
    try:
        file.seek(0)
        file.truncate()
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        holder = {"host": socket.gethostname(), "pid": os.getpid()}
        holder |= {"slurm_job_id": os.environ.get("SLURM_JOB_ID"), "since": now}
        holder["command"] = " ".join(sys.argv)[:300]
        file.write(json.dumps(holder) + "\n")
        file.flush()
        yield
    finally:
        if _names(path, file):  # still locked: see the module's docstring
            path.unlink(missing_ok=True)
        file.close()  # releases the lock
        for p in made:  # the folders made here, if the run left them empty
            try:
                p.rmdir()
            except OSError:
                break


def _make(folder: Path) -> None:
    """Make `folder` and its missing parents, or say which file stands in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if blocking is None or blocking.is_dir():  # it changed meanwhile: not a user's mistake
            raise
        raise RunFolderError(
            f"cannot make the folder {folder}: {blocking} is a file, not a folder"
        ) from None


def _open_lock(path: Path) -> int:
    """The descriptor of the lock file `path`, created if absent, opened without following a link
    (O_NOFOLLOW) and without blocking on a pipe; refused unless it is a regular file."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:  # a link (ELOOP), a folder (EISDIR), a socket (ENXIO)
        if err.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise
    else:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
        os.close(fd)
    mode = os.lstat(path).st_mode
    kind = next((k for test, k in _KINDS if test(mode)), "special file")
    raise RunFolderError(
        f"{path} is a {kind}, not a lock file: a run's .lock must be a regular file; "
        "move it away (nothing was written through it)"
    )


_KINDS = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "fifo"))


def _names(path: Path, file) -> bool:
    """Whether `path` itself (not a link's target) still names the open `file`."""
    try:
        st, mine = path.lstat(), os.fstat(file.fileno())
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _refusal(folder: Path, what: str, line: str) -> str:
    """The message for a second writer of `folder`, from the holder's line in the lock file."""
    try:
        h = json.loads(line)
        pid, host, job = h["pid"], h.get("host"), h.get("slurm_job_id")
    except (ValueError, TypeError, KeyError):  # not written yet, or garbled
        return (
            f"{folder} is in use: another {what} holds its lock {folder / LOCK} (it does not say "
            "which process). Wait for it to end or stop it"
        )
    holder = f"pid {pid} on host {host}" + (f", SLURM job {job}" if job else "")
    holder += f", since {h.get('since')}"
    if h.get("command"):
        holder += f"; command: {h['command']}"
    how = f"stop it: kill {pid} on {host}"
    if job:
        how = f"cancel it: `squeue --me` / `scancel {job}`; or kill {pid} on {host}"
    return (
        f"{folder} is in use: another {what} writes there ({holder}). Wait for it to end or {how}"
    )
