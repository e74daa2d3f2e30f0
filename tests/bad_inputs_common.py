"""Helpers shared by the bad-input test modules (tests/test_bad_inputs_*.py); no tests here.

- checkpoint files and resume states: `_fails` (a one-line CheckpointError, nothing on disk
  changed), used by test_bad_inputs_checkpoint.py and test_bad_inputs_resume.py;
- the apps: `run` (an app's main() in-process) and `one_line` (its error line), used by
  test_bad_inputs_apps.py and test_bad_inputs_compare.py;
- the zest library: tiny normalized images, waveforms, a grid reference and a linear model, used
  by test_bad_inputs_zest.py and test_bad_inputs_zest_files.py (and the subprocess of the latter).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch import nn

import zest
from core.errors import UserError
from training.checkpoint import CheckpointError

# -- checkpoint files and resume states -----------------------------------------------------------


@contextmanager
def _untouched(folder: Path):
    """The folder's files, names and bytes, are the same after the block."""
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    yield
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def _fails(call, path: Path, *words: str) -> str:
    """`call(path)` raises a one-line CheckpointError naming path and holding `words`."""
    with _untouched(path.parent), pytest.raises(CheckpointError) as info:
        call(path)
    message = str(info.value)
    assert isinstance(info.value, UserError)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message, (word, message)
    return message


# -- the apps -------------------------------------------------------------------------------------


def run(main, *args: str, capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of an app's main() called as `python -m app *args`."""
    argv = sys.argv
    sys.argv = ["app", *args]
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code
    finally:
        sys.argv = argv
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    """The error line an app printed; fails when it printed a traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    return lines[0]


# -- the zest library -----------------------------------------------------------------------------

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def images(n=2, size=8, seed=0):
    """Normalized images whose pixels stay inside 0-255 once de-normalized."""
    pixels = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return (pixels - 0.5) / 0.25


def grid_reference(n=2, num_samples=20, seed=0):
    return zest.image_reference(
        images(n), mean=MEAN, std=STD, num_samples=num_samples, segmenter=zest.Grid((2, 2)),
        seed=seed,
    )  # fmt: skip


def model(seed=0, classes=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, classes))


def waves(n=2, length=40, seed=0):
    """Float waveforms (n, 1, length) with no silent sample (an all-zero one is refused)."""
    noise = torch.rand(n, 1, length, generator=torch.Generator().manual_seed(seed))
    return noise + 0.5
