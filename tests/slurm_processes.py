"""Processes on this machine, for the local SLURM cluster of tests/slurm_cluster.py: programs
found on the PATH or in sbin, pids alive or stopped (SIGTERM, then SIGKILL), found by a variable
of their environment or below other processes, the tail of a log, munged, and Ctrl-C held back.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
MUNGE_RUN = Path("/run/munge")
STOP_TIMEOUT = 10.0


def which(name: str) -> str | None:
    """The path of the program `name` on the PATH or in an sbin folder; None if absent."""
    path = os.environ.get("PATH", "")
    return shutil.which(name, path=os.pathsep.join([path, *SBIN]))


def pid_alive(pid: int) -> bool:
    """True while `pid` runs. A zombie counts as dead: daemons are re-parented to PID 1, which
    on some machines (containers, micro-VMs) never reaps them."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def terminate(pids: Sequence[int], timeout: float = STOP_TIMEOUT) -> list[int]:
    """SIGTERM `pids`, wait up to `timeout` s, SIGKILL the rest; return those still alive."""
    pids = [p for p in pids if p > 1 and p != os.getpid() and pid_alive(p)]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while (pids := [p for p in pids if pid_alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pids:
            break
    return pids


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def marked_pids(variable: str, value: str) -> list[int]:
    """Processes whose environment holds `variable=value` (e.g. daemons and their children)."""
    needle = f"{variable}={value}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def with_descendants(roots: Sequence[int]) -> list[int]:
    """`roots` and every process below them (e.g. a slurmstepd and the job it runs)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += children.get(pid, [])
    return found


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text[-lines:])


def munge_works() -> bool:
    munge, unmunge = which("munge"), which("unmunge")
    if munge is None or unmunge is None:
        return False
    try:
        cred = subprocess.run([munge, "-n"], capture_output=True, timeout=10)
        if cred.returncode != 0:
            return False
        check = subprocess.run([unmunge], input=cred.stdout, capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return check.returncode == 0


def start_munged() -> int:
    """Start munged as user munge (it daemonises) and return its pid."""
    munge_user = pwd.getpwnam("munge")
    MUNGE_RUN.mkdir(parents=True, exist_ok=True)
    os.chown(MUNGE_RUN, munge_user.pw_uid, munge_user.pw_gid)
    pid_file = MUNGE_RUN / "munged.pid"
    result = subprocess.run(
        ["runuser", "-u", "munge", "--", which("munged") or "/usr/sbin/munged"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise RuntimeError(f"munged failed to start:\n{result.stdout}{result.stderr}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = read_pid(pid_file)
        if pid is not None and pid_alive(pid) and munge_works():
            return pid
        time.sleep(0.05)
    pid = read_pid(pid_file)
    if pid is not None:
        terminate([pid])
    raise RuntimeError("munged started but `munge -n | unmunge` still fails")


@contextlib.contextmanager
def sigint_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C back while the daemons are being stopped; re-raise it afterwards."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)
