"""Reading the inputs: the result tables (docs/architecture.md, "Result tables") and metrics.json.

One reader per kind of input: ``read_study(paths, study, table)`` for every TSV of the contract,
grouped by its ``dataset`` column, and ``read_run`` for a training run's ``metrics.json``. Which
columns a table must have is ``columns(study, table)``: those the figures read, as
``figures.contract`` declares them. A missing or empty input is not an error: it is logged and its
dataset drawn as "no data at this scale"; a file that is not the table its role names, is cut
short, or holds a cell its column cannot hold (``figures.contract.RULES``: a NaN where the study
always writes a value, a negative distance, text in a number column) is a ``TableError`` naming
it, and the row and column.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from figures.contract import TableError, checked, declared, whole_rows

log = logging.getLogger("figures")


def columns(study: str, table: str = "distances") -> tuple[str, ...]:
    """The columns of ``table`` of ``study`` that the figures read (``figures.contract``), in
    the study's order: a part of what the study writes."""
    try:
        return declared()[study, table]
    except KeyError:
        raise TableError(f"the figures read no {table} table of study {study!r}") from None


@dataclass
class Table:
    """All rows of one study for one dataset, with the files and reference sets they came from."""

    data: pd.DataFrame
    sources: list[Path] = field(default_factory=list)
    refsets: list[str] = field(default_factory=list)


def read_tsv(path: Path) -> pd.DataFrame:
    """A tab-separated result table, every row whole; an unreadable one, or one cut short, is a
    ``TableError`` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
        df = pd.read_csv(io.StringIO(text), sep="\t")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not a readable result table ({exc})") from None
    whole_rows(path, text)
    return df


def read_table(path: Path, study: str, table: str = "distances") -> pd.DataFrame | None:
    """One table of ``study``; None (logged) when the file is missing or has no rows.

    Raises:
        TableError: unreadable, cut short, without a column of ``columns(study, table)``, or
            with a cell that breaks its column's rule (``figures.contract.checked``).
    """
    path = Path(path)
    if not path.exists():
        log.warning("%s: no such file, its dataset is drawn as missing", path)
        return None
    df = read_tsv(path)
    missing = [c for c in columns(study, table) if c not in df.columns]
    if missing:
        what = study if table == "distances" else f"{study} {table}"
        raise TableError(f"{path}: not the {what} table, missing columns {missing}")
    if df.empty:
        log.warning("%s: empty table", path)
        return None
    return checked(df, path, study, table)


def refset_of(path: Path, dataset: str) -> str:
    """``{refset}`` of ``.../{dataset}/{refset}/<study>.tsv``; "" for a file elsewhere."""
    return path.parent.name if path.parent.parent.name == dataset else ""


def read_study(paths, study: str, table: str = "distances") -> dict[str, Table]:
    """Every table of ``study`` among ``paths``, pooled by dataset: {dataset: Table}."""
    tables: dict[str, Table] = {}
    for path in map(Path, paths):
        df = read_table(path, study, table)
        if df is None:
            continue
        for dataset, rows in df.groupby("dataset", sort=False):
            entry = tables.setdefault(str(dataset), Table(rows.iloc[0:0]))
            if len(entry.data):
                log.warning("%s: more rows for %s, pooled with %s", path, dataset, entry.sources)
            entry.data = pd.concat([entry.data, rows], ignore_index=True)
            entry.sources.append(path)
            refset = refset_of(path, str(dataset))
            if refset and refset not in entry.refsets:
                entry.refsets.append(refset)
    return tables


@dataclass(frozen=True)
class Run:
    """The final-epoch test accuracy of one training run (one ``metrics.json``)."""

    dataset: str
    arch: str
    recipe: str
    seed: int
    epoch: int
    test_acc: float  # in [0, 1]
    path: Path


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(data, dict):
        raise TableError(f"{path}: not a JSON object")
    return data


def _name(value) -> str | None:
    """A config entry as a name: a string, or the ``name`` of a config group dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    return None


def read_run(path: str | os.PathLike) -> Run | None:
    """Final-epoch accuracy of ``models/{dataset}/{arch}/{recipe}/seed{seed}/metrics.json``.

    Keys of the JSON (``dataset``, ``arch``/``model``, ``recipe``, ``seed``) win over the path.
    Returns None (and logs) for a missing file or one without a finished, measured epoch.

    Raises:
        TableError: not a JSON object.
    """
    path = Path(path)
    if not path.exists():
        log.warning("%s: no such file", path)
        return None
    data = _read_json(path)
    epochs = data.get("history") or []
    if not epochs or not data.get("finished", True):
        log.warning("%s: no finished training recorded", path)
        return None
    last = epochs[-1]
    if last.get("test_accuracy") is None:
        log.warning("%s: last epoch has no test_accuracy", path)
        return None
    parts = ("unknown", "unknown", "standard", *path.parts)[-5:]  # dataset/arch/recipe/seedS/file
    match = re.fullmatch(r"seed(\d+)", path.parent.name)
    return Run(
        dataset=_name(data.get("dataset")) or parts[0],
        arch=_name(data.get("arch")) or _name(data.get("model")) or parts[1],
        recipe=_name(data.get("recipe")) or parts[2],
        seed=int(data.get("seed", int(match.group(1)) if match else -1)),
        epoch=int(last.get("epoch", len(epochs))),
        test_acc=float(last["test_accuracy"]),
        path=path,
    )
