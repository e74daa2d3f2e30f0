"""Reading the result tables (docs/architecture.md, "Result tables"); writing outputs atomically.

Tables are grouped by their ``dataset`` column (or, when a table has none, by the ``{dataset}``
folder of ``distances/{dataset}/{refset}/<study>.tsv``). A missing or empty input is not an error:
it is logged and the dataset is drawn as "no data at this scale".
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from training.errors import UserError

log = logging.getLogger("figures")


class TableError(UserError, ValueError):
    """A result table (TSV/JSON) is unreadable or not the table a figure needs."""


def read_tsv(path: Path) -> pd.DataFrame:
    """A tab-separated result table; an unreadable one is a `TableError` naming it."""
    try:
        return pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not a readable result table ({exc})") from None


def read_json(path: Path) -> dict:
    """A JSON record (a run's metrics.json); an unreadable one is a `TableError` naming it."""
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(data, dict):
        raise TableError(f"{path}: not a JSON object")
    return data


COLUMNS = {
    "epochs": (
        "dataset",
        "metric",
        "relation",
        "seed_a",
        "epoch_a",
        "seed_b",
        "epoch_b",
        "t",
        "k",
    ),
    "refsize": ("dataset", "metric", "pair", "seed", "epoch_a", "epoch_b", "size", "repeat"),
    "agreement": (
        "dataset",
        "relation",
        "seed_a",
        "epoch_a",
        "seed_b",
        "epoch_b",
        "num_points",
        "agreement",
    ),
}
KNOWN_SUFFIXES = (".pdf", ".png", ".csv", ".md", ".tex")


@dataclass
class Table:
    """All rows of one study for one dataset, with the files and reference sets they came from."""

    data: pd.DataFrame
    sources: list[Path] = field(default_factory=list)
    refsets: list[str] = field(default_factory=list)


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


def read_tables(paths, study: str) -> dict[str, Table]:
    """Read TSV tables of ``study`` (``epochs``, ``refsize``, ``agreement``), keyed by dataset.

    Raises:
        ValueError: a table lacks a column of the contract.
    """
    tables: dict[str, Table] = {}
    for path in map(Path, paths):
        if not path.exists():
            log.warning("%s: no such file, its dataset is drawn as missing", path)
            continue
        df = read_tsv(path)
        if "dataset" not in df.columns:
            df.insert(0, "dataset", path.parent.parent.name)
        value_cols = ("value", "relative") if study != "agreement" else ()
        missing = [c for c in (*COLUMNS[study], *value_cols) if c not in df.columns]
        if missing:
            raise TableError(f"{path}: not a {study} table, missing columns {missing}")
        if df.empty:
            log.warning("%s: empty table", path)
            continue
        pool_by_dataset(tables, path, df)
    return tables


def pool_by_dataset(tables: dict[str, Table], path: Path, df: pd.DataFrame) -> None:
    """Add the rows of one file to the per-dataset tables, recording sources and refsets."""
    for dataset, rows in df.groupby("dataset", sort=False):
        table = tables.setdefault(str(dataset), Table(rows.iloc[0:0]))
        if len(table.data):
            log.warning("%s: more rows for %s, pooled with %s", path, dataset, table.sources)
        table.data = pd.concat([table.data, rows], ignore_index=True)
        table.sources.append(path)
        if path.parent.parent.name == dataset and path.parent.name not in table.refsets:
            table.refsets.append(path.parent.name)


def read_run(path: str | os.PathLike) -> Run | None:
    """Final-epoch accuracy of ``models/{dataset}/{arch}/{recipe}/seed{seed}/metrics.json``.

    Keys of the JSON (``dataset``, ``arch``/``model``, ``recipe``, ``seed``) win over the path.
    Returns None (and logs) for a missing file or one without epochs.
    """
    path = Path(path)
    if not path.exists():
        log.warning("%s: no such file", path)
        return None
    data = read_json(path)
    epochs = data.get("history") or []
    if not epochs or not data.get("finished", True):
        log.warning("%s: no finished training recorded", path)
        return None
    last = epochs[-1]
    if last.get("test_accuracy") is None:
        log.warning("%s: last epoch has no test_accuracy", path)
        return None
    seed_dir = path.parent.name
    parts = path.parts
    from_path = {
        "dataset": parts[-5] if len(parts) >= 5 else "unknown",
        "arch": parts[-4] if len(parts) >= 4 else "unknown",
        "recipe": parts[-3] if len(parts) >= 3 else "standard",
    }
    match = re.fullmatch(r"seed(\d+)", seed_dir)
    seed = data.get("seed", int(match.group(1)) if match else -1)
    return Run(
        dataset=_name(data.get("dataset")) or from_path["dataset"],
        arch=_name(data.get("arch")) or _name(data.get("model")) or from_path["arch"],
        recipe=_name(data.get("recipe")) or from_path["recipe"],
        seed=int(seed),
        epoch=int(last.get("epoch", len(epochs))),
        test_acc=float(last["test_accuracy"]),
        path=path,
    )


def _name(value) -> str | None:
    """A config entry as a name: a string, or the ``name`` of a config group dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    return None


def output_stem(out: str | os.PathLike) -> Path:
    """``--out`` without a known suffix (``fig2.pdf`` and ``fig2`` both mean ``fig2``)."""
    out = Path(out)
    return out.with_suffix("") if out.suffix in KNOWN_SUFFIXES else out


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` atomically: to a temp file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; outputs are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
