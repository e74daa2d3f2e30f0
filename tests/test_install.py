"""The library installs alone: `zest` needs only pyproject.toml's core `dependencies`.

The pipeline's stack (Snakemake, Hydra, pandas, matplotlib, torchvision, ...) is the `pipeline`
extra. Here (a) the README's library example runs in a fresh interpreter in which every
pipeline-only package is unimportable, and (b) the third-party imports of `zest/` are exactly the
core dependencies, none of them a pipeline package.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The README's "Only the library" example, verbatim (test_readme_shows_this_example checks).
README_EXAMPLE = """\
import torch, zest
images = torch.nn.functional.interpolate(torch.rand(4, 3, 4, 4), size=32)  # yours: normalized (N, C, H, W)
model_a = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))  # yours: (B, ...) -> (B, C)
model_b = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 30 * 30, 10))
reference = zest.image_reference(images, mean=[0.5] * 3, std=[0.5] * 3, num_samples=100)
print(zest.distance(zest.compute_signature(model_a, reference), zest.compute_signature(model_b, reference)))
"""

# Top-level modules of each distribution that only the pipeline (or the tests) may need.
PIPELINE_ONLY = {
    "torchvision": ["torchvision"],
    "torchaudio": ["torchaudio"],
    "pandas": ["pandas"],
    "matplotlib": ["matplotlib", "mpl_toolkits"],
    "soundfile": ["soundfile"],
    "snakemake": ["snakemake"],
    "hydra-core": ["hydra"],
    "omegaconf": ["omegaconf"],
    "safetensors": ["safetensors"],
    "tqdm": ["tqdm"],
    # the test and slurm extras
    "pytest": ["pytest", "_pytest"],
    "pytest-xdist": ["xdist"],
    "lime": ["lime"],
    "scikit-learn": ["sklearn"],
    "ruff": ["ruff"],
    "pyyaml": ["yaml"],
    "snakemake-executor-plugin-slurm": ["snakemake_executor_plugin_slurm"],
}
# The research pipeline's own packages, shipped in the same distribution.
PROJECT_PIPELINE_PACKAGES = ["core", "training", "experiments", "figures", "pipeline"]
# In an extra for the pipeline's sake, but also a requirement of a core dependency, so importable.
PULLED_IN_BY_CORE = {"pillow": "scikit-image", "scipy": "scikit-image"}

_HOOK = """\
import sys

BLOCKED = {blocked!r}


class RefusePipeline:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{{name}} is pipeline-only (blocked)", name=name)
        return None


loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
assert not loaded, f"imported before the hook: {{loaded}}"
sys.meta_path.insert(0, RefusePipeline())
try:
    import pandas  # noqa: F401
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("the hook does not block pandas")

import warnings

import zest

warnings.filterwarnings("error", category=zest.ZestWarning)
"""


def _name(requirement: str) -> str:
    """Normalized distribution name of a requirement string ("snakemake[reports]==1" -> "snakemake")."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _core() -> set[str]:
    return {_name(r) for r in _project()["dependencies"]}


def _extra(name: str) -> set[str]:
    return {_name(r) for r in _project()["optional-dependencies"][name]}


def _blocked_modules() -> list[str]:
    return sorted(
        {m for mods in PIPELINE_ONLY.values() for m in mods} | set(PROJECT_PIPELINE_PACKAGES)
    )


def _zest_third_party_imports() -> dict[str, list[str]]:
    """Top-level third-party modules imported anywhere in zest/ (also inside functions) -> files."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "zest").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top != "zest" and top not in sys.stdlib_module_names:
                    found.setdefault(top, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_readme_shows_this_example():
    readme = (ROOT / "README.md").read_text()
    assert "### Only the library" in readme
    assert f"```python\n{README_EXAMPLE}```" in readme, (
        "README's library example and the test differ"
    )


def test_readme_example_runs_without_the_pipeline_packages():
    script = _HOOK.format(blocked=_blocked_modules()) + README_EXAMPLE
    script += "\nleft = sorted(m for m in sys.modules if m.partition('.')[0] in BLOCKED)\n"
    script += "assert not left, left\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    distance = float(result.stdout.strip().splitlines()[-1])
    assert 0.0 <= distance <= 2.0  # the cosine distance


def test_every_pipeline_package_is_blocked_above():
    """A distribution added to the pipeline extra must be added to PIPELINE_ONLY (or be core's)."""
    known = {_name(d) for d in PIPELINE_ONLY} | set(PULLED_IN_BY_CORE)
    for extra in ("pipeline", "test", "slurm"):
        assert _extra(extra) <= known, f"{extra}: {sorted(_extra(extra) - known)}"
    for dist, core_dist in PULLED_IN_BY_CORE.items():
        assert core_dist in _core()
        requires = {_name(r) for r in metadata.requires(core_dist) or [] if "extra ==" not in r}
        assert dist in requires, f"{core_dist} no longer requires {dist}: block it above"


def test_core_dependencies_are_exactly_what_zest_imports():
    imports = _zest_third_party_imports()
    owners = metadata.packages_distributions()
    needed: dict[str, str] = {}
    for module, files in imports.items():
        dists = owners.get(module)
        assert dists, f"{module} (imported in {files}) belongs to no installed distribution"
        needed[_name(dists[0])] = module
    missing = sorted(set(needed) - _core())
    assert not missing, (
        f"zest imports {[needed[d] for d in missing]} ({missing}): not in `dependencies`"
    )
    unused = sorted(_core() - set(needed))
    assert not unused, f"core dependencies that zest/ does not import: {unused}"
    assert {"torch", "numpy", "scikit-image"} == _core()  # keep the library tiny


def test_no_pipeline_package_is_a_core_dependency():
    pipeline = {_name(d) for d in PIPELINE_ONLY} | _extra("pipeline")
    assert not (_core() & pipeline), sorted(_core() & pipeline)
    assert not (_core() & _extra("test")) and not (_core() & _extra("slurm"))
    assert not (set(_zest_third_party_imports()) & set(_blocked_modules()))
