"""Where a run executes: device, CPU threads, seeds, and provenance (versions, git commit)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

import numpy as np
import torch

from core.errors import SettingsError
from core.provenance import cpu_model, git_commit

__all__ = ["describe_device", "epoch_generator", "package_versions", "git_commit", "pick_device"]
__all__ += ["cpu_model", "set_threads"]

_PACKAGES = ("torch", "numpy", "safetensors", "hydra-core", "omegaconf", "tqdm")


def pick_device(name: str) -> torch.device:
    """`auto` -> cuda if available, else cpu; anything else is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise SettingsError(
            f"device={name} is not a device: use auto, cpu, cuda or cuda:N"
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError(f"device={name} requested but CUDA is not available (use device=auto)")
    return device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def set_threads(threads: int | None) -> int:
    """Set torch's CPU threads: `threads`, else $OMP_NUM_THREADS, else the usable cores."""
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else len(os.sched_getaffinity(0))
    if threads < 1:
        raise SettingsError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    return threads


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator for one epoch's data order and augmentation, seeded from (seed, epoch).

    The two numbers are mixed with numpy's SeedSequence, so nearby (seed, epoch) pairs give
    unrelated streams, and the stream of an epoch does not depend on what ran before it (resume).
    """
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def package_versions() -> dict[str, Any]:
    versions: dict[str, Any] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["cuda"] = torch.version.cuda
    return versions
