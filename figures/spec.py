"""One spec per figure and table: what it reads, which options it takes, how it is rendered.

Read by both the Snakemake rules (which result tables an output needs, which options the plan may
pass) and ``python -m figures.render`` (its argument parser is built from the spec)::

    from figures.spec import OUTPUTS
    out = OUTPUTS["fig2_epochs_vision"]
    out.reads      # {"epochs": Read(study="epochs", table="distances", datasets=("cifar10", ...))}
    out.options    # ("k", "metric", "datasets", "note", "logy")
    out.render({"epochs": [path, ...]}, Path("results/figures/fig2"), k=5)   # -> files written

Outputs live in the modules of the package ``figures.catalog``; each defines
``OUTPUTS = [Output(...), ...]`` beside its renderers and is found here with ``pkgutil``, so a new
output is one module there plus its caption ``figures/captions/<name>.rst``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CAPTIONS = Path(__file__).resolve().parent / "captions"
SUFFIXES = {"figure": (".pdf", ".png"), "table": (".csv", ".md", ".tex")}
TABLES = ("distances", "verdicts", "detection")
RESERVED = {"out", "list", "help", "name"}  # flags of the command line that no role may take


@dataclass(frozen=True)
class Read:
    """One named input of an output: which table of which study, for which datasets.

    ``study`` is the name of a study (``experiments.studies.STUDIES``) or ``runs``: the
    ``metrics.json`` of the standard training runs.
    ``datasets``: the panels in order (a dataset without a table is drawn as "no data at this
    scale"); None: every dataset that has the table.
    """

    study: str
    table: str = "distances"
    datasets: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise ValueError(f"table {self.table!r}: one of {TABLES}")
        if self.datasets is not None:
            object.__setattr__(self, "datasets", tuple(self.datasets))


def comma_list(text: str) -> tuple[str, ...]:
    """``"cifar10, cifar100"`` -> ``("cifar10", "cifar100")``."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


@dataclass(frozen=True)
class Option:
    """An option an output may take: how its command-line text is parsed, and its help."""

    help: str
    parse: Callable[[str], Any] | None = str  # None: a switch, --logy / --no-logy
    choices: tuple[str, ...] | None = None


OPTIONS: dict[str, Option] = {
    "k": Option("k of the related pairs (default: the smallest k >= 5 in the table)", int),
    "metric": Option("distance metric (default: cosine)"),
    "metrics": Option(
        "metrics, one row of panels each, comma-separated (default: l1,l2)", comma_list
    ),  # fmt: skip
    "column": Option("y values (default: relative)", str, ("relative", "value")),
    "datasets": Option("panels, comma-separated, in order (default: the output's)", comma_list),
    "note": Option("a line under the title, e.g. 'mini scale, N = 128, 3 seeds'"),
    "logy": Option("log y axis (--no-logy: linear; default: the figure's)", None),
}


@dataclass(frozen=True)
class Output:
    """One figure (``.pdf``, ``.png``) or table (``.csv``, ``.md``, ``.tex``) of the paper.

    ``reads``: role -> what it reads; the role is its command-line flag (``--epochs a.tsv b.tsv``)
    and the key of ``inputs`` in ``render(inputs, out, **options)``, which gets a list of paths
    (maybe empty) for every role and only the ``options`` given; it returns the files written.
    """

    name: str
    kind: str
    reads: dict[str, Read]
    options: tuple[str, ...]
    render: Callable[..., list[Path]]

    def __post_init__(self) -> None:
        if self.kind not in SUFFIXES:
            raise ValueError(f"{self.name}: kind {self.kind!r}, one of {tuple(SUFFIXES)}")
        unknown = [key for key in self.options if key not in OPTIONS]
        if unknown:
            raise ValueError(f"{self.name}: options {unknown} are not in figures.spec.OPTIONS")
        for role in self.reads:
            if not role.isidentifier() or role in OPTIONS or role in RESERVED:
                raise ValueError(f"{self.name}: {role!r} cannot be a role (a flag of its own)")

    @property
    def caption(self) -> Path:
        """``figures/captions/<name>.rst`` (absolute): the caption in the Snakemake report."""
        return CAPTIONS / f"{self.name}.rst"

    @property
    def suffixes(self) -> tuple[str, ...]:
        return SUFFIXES[self.kind]

    @property
    def summary(self) -> str:
        """The first line of the renderer's docstring."""
        return (self.render.__doc__ or self.name).strip().splitlines()[0]

    def stem(self, out: str | Path) -> Path:
        """``out`` without one of this output's suffixes (``fig2.pdf`` and ``fig2``: ``fig2``)."""
        out = Path(out)
        return out.with_suffix("") if out.suffix in self.suffixes else out

    def files(self, out: str | Path) -> list[Path]:
        """The files ``render`` writes for ``out``."""
        stem = self.stem(out)
        return [stem.with_name(stem.name + suffix) for suffix in self.suffixes]


def _natural(name: str) -> tuple:
    """``fig2`` before ``fig10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


@cache
def discover() -> dict[str, Output]:
    """Every output of the modules of ``figures.catalog``, by name (figures, then tables)."""
    from figures import catalog as package

    found: dict[str, Output] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for output in getattr(module, "OUTPUTS", ()):
            if output.name in found:
                raise ValueError(f"output {output.name!r} is defined twice ({module.__name__})")
            found[output.name] = output
    return {name: found[name] for name in sorted(found, key=_natural)}


def __getattr__(name: str):
    # OUTPUTS is collected on first use: the output modules import this one.
    if name == "OUTPUTS":
        return discover()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
