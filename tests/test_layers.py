"""The layers of docs/architecture.md, as imports: each package imports only the project packages
below it (every `import` and `from ... import` in its modules, at any depth, lazy ones included).

    core         the ground floor: nothing of the project
    zest         the library: nothing of the project
    training     core
    experiments  core, zest, training
    figures      core (reads result tables only: no study, no model, never torch)
    pipeline     core, training, experiments, figures

`tests/` and `benchmarks/` may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("core", "zest", "training", "experiments", "figures", "pipeline")
MAY_IMPORT = {
    "core": set(),
    "zest": set(),
    "training": {"core"},
    "experiments": {"core", "zest", "training"},
    "figures": {"core"},
    "pipeline": {"core", "training", "experiments", "figures"},
}
# Third-party packages a layer must not import at all (figures/ never loads torch)
NEVER = {"figures": {"torch", "torchvision", "torchaudio"}, "core": {"snakemake"}}


def imported(source: str, package: str) -> set[str]:
    """The top-level names of every module `source` (a module of `package`) imports; a relative
    import is of `package` itself."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(package if node.level else (node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_layers_below_it(package):
    allowed = MAY_IMPORT[package] | {package}
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = imported(path.read_text(), package)
        bad = sorted((names & set(PROJECT)) - allowed) + sorted(names & NEVER.get(package, set()))
        if bad:
            wrong[str(path.relative_to(ROOT))] = bad
    assert not wrong, f"{package}/ may import {sorted(allowed)} of the project; found {wrong}"


def test_the_check_sees_lazy_and_relative_imports():
    """A violation hidden in a function body, and a relative import, are both seen."""
    source = "from . import load\ndef f():\n    import torch.nn\n    from experiments import x\n"
    assert imported(source, "figures") == {"figures", "torch", "experiments"}
