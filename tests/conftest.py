"""Shared test fixtures: small generated datasets on disk, in the real formats.

    def test_something(generated_root):
        root = generated_root("cifar10")                 # default size, written once per session
        tiny = generated_root("speech_commands", n_train=8, n_test=4)
        bundle = load_dataset("cifar10", root)

The folders are shared by all tests of the session: treat them as read-only (copy one with
`shutil.copytree` to change it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from smoke_dag import smoke  # noqa: F401  (the session's smoke DAG, for the slow pipeline tests)

from training.data.generate import generate


@pytest.fixture(scope="session")
def generated_root(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory `generated_root(name, *, seed=0, n_train=None, n_test=None, n_classes=None)`.

    Writes dataset `name` with `training.data.generate.generate` into a session temp folder (once
    per distinct argument set) and returns that folder: the `root` to pass to `load_dataset`.
    """
    cache: dict[tuple, Path] = {}

    def make(name: str, **kwargs: int | None) -> Path:
        key = (name, *sorted(kwargs.items()))
        if key not in cache:
            folder = tmp_path_factory.mktemp(f"data_{name}")
            cache[key] = generate(name, folder / name, **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope="module")
def data_root(generated_root: Callable[..., Path]) -> Path:
    """A tiny CIFAR-10 folder's parent (the `data_root` setting of the apps), for the bad-input app
    tests (test_bad_inputs_apps.py, test_bad_inputs_compare.py); a module that needs more data
    defines its own `data_root`."""
    return generated_root("cifar10", n_train=4, n_test=2).parent
