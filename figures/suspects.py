"""Section 5 inputs and numbers: suspect tables, verdicts, accuracies of unlearned models.

Reads ``extraction.tsv`` / ``unlearning.tsv`` (victim vs suspect and victim vs unrelated
distances), ``verdicts/{dataset}/{refset}/{study}.tsv`` and the ``metrics.json`` files of the
suspect models (docs/architecture.md, "Section 5"). Inputs of another kind (say an
``epochs.tsv``, or ``metrics.json`` files given to a figure that draws no accuracies) are logged
and skipped, so a rule can pass a whole folder's worth of tables; a TSV that matches no table of
the contract is an error.

Units (as in ``figures.stats``): a suspect curve or bar averages over victims (one victim seed
each, duplicates of a (victim, epoch) averaged); the unrelated spread is over unordered pairs of
seeds {victim, other} (a pair listed from both ends counts once).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from figures import stats
from figures.load import COLUMNS, Table, TableError, pool_by_dataset, read_json, read_tsv

log = logging.getLogger("figures")

SUSPECT_COLUMNS = ("dataset", "metric", "relation", "kind", "victim_seed", "seed_b", "epoch_b")
VERDICT_COLUMNS = (
    "dataset",
    "suspect",
    "victim_seed",
    "seed_b",
    "epoch_b",
    "metric",
    "distance",
    "relative",
    "p_value",
    "ci_low",
    "ci_high",
    "n_independent",
)
EXTRACTION_KINDS = ("extract-labels", "extract-outputs")
UNLEARNING_KINDS = ("unlearn-exact", "unlearn-amnesiac")
KIND_LABELS = {
    "extract-labels": "argmax labels, cross-entropy (paper text)",
    "extract-outputs": "raw outputs, MSE (authors' code)",
    "unlearn-exact": "exactly unlearned (retrained without the forget set)",
    "unlearn-amnesiac": "approximately unlearned (amnesiac)",
    "standard": "unrelated (other seeds)",
}
STUDY_NAMES = {"suspects": "extraction/unlearning", "verdicts": "verdicts"}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ag_news": 4, "speech_commands": 35}


# --- reading -------------------------------------------------------------------------------------
def _known_other(columns, study: str) -> str | None:
    """The other contract table whose columns ``columns`` holds, if any (to skip it)."""
    known = {**COLUMNS, "suspects": SUSPECT_COLUMNS, "verdicts": VERDICT_COLUMNS}
    for name, cols in known.items():
        if name != study and set(cols) - {"dataset"} <= set(columns):
            return name
    return None


def _read_tsv(path: Path, study: str) -> pd.DataFrame | None:
    """A ``study`` TSV (``suspects`` or ``verdicts``); None (logged) when missing, empty or
    another table of the contract.

    Raises:
        ValueError: the file matches no table of the contract.
    """
    if path.name == "metrics.json":
        log.debug("%s: a metrics.json, not a table; skipped", path)
        return None
    if not path.exists():
        log.warning("%s: no such file, its dataset is drawn as missing", path)
        return None
    df = read_tsv(path)
    if "dataset" not in df.columns:
        df.insert(0, "dataset", path.parent.parent.name)
    wanted = (*SUSPECT_COLUMNS, "value", "relative") if study == "suspects" else VERDICT_COLUMNS
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        other = _known_other(df.columns, study)
        if other is None:
            raise TableError(
                f"{path}: not a {STUDY_NAMES[study]} table, missing columns {missing}"
            )
        log.warning("%s: a %s table, not a %s table; ignored", path, other, STUDY_NAMES[study])
        return None
    if df.empty:
        log.warning("%s: empty table", path)
        return None
    return df


def read_suspects(paths, kinds) -> dict[str, Table]:
    """Suspect tables (``extraction.tsv``, ``unlearning.tsv``) with rows of ``kinds``, by dataset.

    A file keeps its ``unrelated`` rows only if it has suspect rows of ``kinds`` (so the unrelated
    rows of an unlearning table, measured on another reference set, never join an extraction
    figure). Returns {dataset: Table}.
    """
    tables: dict[str, Table] = {}
    for path in map(Path, paths):
        df = _read_tsv(path, "suspects")
        if df is None:
            continue
        ours = df["kind"].isin(kinds) & (df["relation"] == "suspect")
        if not ours.any():
            log.warning("%s: no suspect rows of %s; ignored", path, list(kinds))
            continue
        df = df[ours | (df["relation"] == "unrelated")]
        pool_by_dataset(tables, path, df)
    return tables


def read_verdicts(paths) -> pd.DataFrame:
    """Every row of the verdict tables, with ``refset`` and ``study`` from their paths."""
    frames = []
    for path in map(Path, paths):
        df = _read_tsv(path, "verdicts")
        if df is not None:
            frames.append(df.assign(refset=path.parent.name, study=path.stem))
    if not frames:
        return pd.DataFrame(columns=[*VERDICT_COLUMNS, "related", "refset", "study"])
    out = pd.concat(frames, ignore_index=True)
    if "related" not in out.columns:
        out["related"] = out["relative"] < 1.0
    out["related"] = out["related"].map(_as_bool)
    return out


def _as_bool(value):
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower(), pd.NA)
    return pd.NA if pd.isna(value) else bool(value)


def _last_value(data: dict, key: str) -> float:
    """``data[key]`` at the top level, else in the last ``history`` entry; NaN if neither has
    it (an earlier epoch's value would describe another model)."""
    value = data.get(key)
    history = data.get("history") or []
    if value is None and history and isinstance(history[-1], dict):
        value = history[-1].get(key)
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def read_accuracies(paths) -> pd.DataFrame:
    """Test and forget-set accuracy (in [0, 1]) of each ``metrics.json`` among ``paths``.

    ``models/{dataset}/{arch}/{recipe}/seed{s}/metrics.json``: keys of the JSON (``dataset``,
    ``recipe``, ``seed``) win over the path. Missing accuracies are NaN. Columns: dataset, kind,
    seed, test_accuracy, forget_accuracy, path.
    """
    rows = []
    for path in (Path(p) for p in paths if Path(p).name == "metrics.json"):
        if not path.exists():
            log.warning("%s: no such file", path)
            continue
        data = read_json(path)
        parts = path.parts
        match = re.fullmatch(r"seed(\d+)", path.parent.name)
        name = data.get("dataset")
        name = name.get("name") if isinstance(name, dict) else name
        rows.append(
            {
                "dataset": name or (parts[-5] if len(parts) >= 5 else "unknown"),
                "kind": data.get("recipe") or (parts[-3] if len(parts) >= 3 else "unknown"),
                "seed": int(data.get("seed", int(match.group(1)) if match else -1)),
                "test_accuracy": _last_value(data, "test_accuracy"),
                "forget_accuracy": _last_value(data, "forget_accuracy"),
                "path": str(path),
            }
        )
    columns = ["dataset", "kind", "seed", "test_accuracy", "forget_accuracy", "path"]
    return pd.DataFrame(rows, columns=columns)


# --- numbers -------------------------------------------------------------------------------------
def y_column(df: pd.DataFrame) -> str:
    """``relative``, or ``value`` when the table has no relative distances."""
    if df["relative"].notna().sum() == 0:
        log.warning("no relative distances (no unrelated rows?): using raw distances")
        return "value"
    return "relative"


def suspect_curve(df: pd.DataFrame, kind: str, column: str = "relative") -> pd.DataFrame:
    """Mean, std, n over victims of ``column`` for each suspect epoch: ``t, mean, std, n``."""
    rows = df[(df["relation"] == "suspect") & (df["kind"] == kind)]
    units = rows.groupby(["victim_seed", "epoch_b"], as_index=False)[column].mean()
    out = units.groupby("epoch_b")[column].apply(stats.summarize)
    return pd.DataFrame(
        {
            "t": out.index.to_numpy(dtype=float),
            "mean": [m for m, _, _ in out],
            "std": [s for _, s, _ in out],
            "n": [n for _, _, n in out],
        }
    )


def unrelated_units(df: pd.DataFrame, column: str = "relative") -> pd.Series:
    """One value per unordered pair {victim, other seed} (both directions averaged)."""
    rows = df[df["relation"] == "unrelated"]
    if rows.empty:
        return pd.Series(dtype=float)
    lo = np.minimum(rows["victim_seed"], rows["seed_b"])
    hi = np.maximum(rows["victim_seed"], rows["seed_b"])
    return rows.assign(_lo=lo, _hi=hi).groupby(["_lo", "_hi"])[column].mean()


def final_suspects(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per victim, the suspect of ``kind`` at its last epoch, with ``ratio`` to the unrelated.

    ``ratio`` = value / (mean value of the unrelated rows of that victim), or, for a victim
    without unrelated rows, / (mean of all unrelated rows). Columns: victim_seed, epoch_b,
    value, relative, ratio.
    """
    cols = ["victim_seed", "epoch_b", "value", "relative", "ratio"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = df[(df["relation"] == "suspect") & (df["kind"] == kind)]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    units = rows.groupby(["victim_seed", "epoch_b"], as_index=False)[["value", "relative"]].mean()
    last = units.loc[units.groupby("victim_seed")["epoch_b"].idxmax()].reset_index(drop=True)
    unrel = df[df["relation"] == "unrelated"]
    per_victim = unrel.groupby("victim_seed")["value"].mean()
    overall = unrel["value"].mean() if len(unrel) else float("nan")
    denominator = last["victim_seed"].map(per_victim).fillna(overall)
    last["ratio"] = last["value"] / denominator
    return last[cols]


def closer_percent(ratios) -> tuple[float, float, int]:
    """ "X % closer than an independent model": 100 (1 - ratio), mean, std, n over victims."""
    return stats.summarize(100.0 * (1.0 - pd.Series(ratios, dtype=float)))


def further_percent(ratios) -> tuple[float, float, int]:
    """ "X % further than an independent model": 100 (ratio - 1), mean, std, n over victims."""
    return stats.summarize(100.0 * (pd.Series(ratios, dtype=float) - 1.0))


def chance_accuracy(dataset: str) -> float | None:
    n = NUM_CLASSES.get(dataset)
    return 1.0 / n if n else None


def broken_threshold(dataset: str) -> float | None:
    """Test accuracy (in [0, 1]) at or below which a model counts as broken (near chance):
    max(2 x chance, chance + 5 points); CIFAR-10: 20 %, CIFAR-100: 6 %. None if unknown."""
    chance = chance_accuracy(dataset)
    return None if chance is None else max(2.0 * chance, chance + 0.05)


def is_broken(dataset: str, test_accuracy: float) -> bool:
    limit = broken_threshold(dataset)
    return limit is not None and math.isfinite(test_accuracy) and test_accuracy <= limit


def accuracy_summary(acc: pd.DataFrame, dataset: str, kind: str) -> dict:
    """Mean/std/n of test and forget accuracy (%) of ``kind`` on ``dataset``; broken seeds."""
    g = acc[(acc["dataset"] == dataset) & (acc["kind"] == kind)]
    test = stats.summarize(g["test_accuracy"] * 100)
    forget = stats.summarize(g["forget_accuracy"] * 100)
    broken = int(sum(is_broken(dataset, a) for a in g["test_accuracy"]))
    return {"test": test, "forget": forget, "n_runs": len(g), "n_broken": broken}
