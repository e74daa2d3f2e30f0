"""Section 5 numbers, aggregated for display from the suspect tables' columns.

``extraction.tsv`` / ``unlearning.tsv`` (docs/architecture.md, "Section 5") carry everything a
figure shows: ``relative`` (value / mean of the dataset's unrelated rows of that metric, the
paper's equation 1), ``closer_percent`` (= 100 (1 - relative)), the accuracies of model b and
the study's ``broken`` flag. Nothing here normalizes or judges again; it only averages.

Units (as in ``figures.stats``): a suspect curve or bar averages over victims (one victim seed
each, duplicates of a (victim, epoch) averaged); the unrelated spread is over unordered pairs of
seeds {victim, other} (a pair listed from both ends counts once); accuracies are over models b.
"""

from __future__ import annotations

import pandas as pd

from figures import stats
from figures.load import Table
from figures.tabulate import ordered

EXTRACTION_KINDS = ("extract-labels", "extract-outputs")
UNLEARNING_KINDS = ("unlearn-exact", "unlearn-amnesiac")
RETRAIN_KINDS = ("unlearn-exact", "unlearn-shard")  # and the kinds that start with them
KIND_LABELS = {
    "extract-labels": "argmax labels, cross-entropy (paper text)",
    "extract-outputs": "raw outputs, MSE (authors' code)",
    "extract-softmax": "probabilities, soft cross-entropy",
    "extract-views": "argmax labels of augmented views, cross-entropy",
    "unlearn-exact": "exactly unlearned (retrained without the forget set)",
    "unlearn-exact-independent": "retrained without the forget set, independent seed",
    "unlearn-shard": "retrained on one SISA shard without the forget set",
    "unlearn-amnesiac": "approximately unlearned (amnesiac)",
    "standard": "unrelated (other seeds)",
}
KIND_SHORT = {
    "extract-labels": "labels (cross-entropy)",
    "extract-outputs": "outputs (MSE)",
    "extract-softmax": "softmax (soft CE)",
    "extract-views": "labels of views (CE)",
    "unlearn-exact": "exact (retrained)",
    "unlearn-exact-independent": "exact (independent seed)",
    "unlearn-shard": "exact (SISA shard)",
    "unlearn-amnesiac": "approximate (amnesiac)",
}
NUMBERS = ["value", "relative", "closer_percent", "test_accuracy", "forget_accuracy"]


def by_dataset_and_kind(
    tables: dict[str, Table], datasets, kinds, metric: str
) -> list[tuple[str, str, pd.DataFrame]]:
    """(dataset, kind, the dataset's rows of ``metric``) for each row of a section-5 table:
    ``datasets`` and ``kinds`` first (kept without data: the paper's), then the others found."""
    out = []
    for dataset in ordered(tables, datasets):
        df = tables[dataset].data if dataset in tables else pd.DataFrame()
        df = df[df["metric"] == metric] if len(df) else df
        found = set(df["kind"]) - {"standard"} if len(df) else set()
        out += [(dataset, kind, df) for kind in ordered(found, kinds)]
    return out


def suspect_rows(table: Table | None, metric: str) -> pd.DataFrame | None:
    """The rows of ``metric`` of a panel's table; None (an empty panel) without suspect rows."""
    df = table.data[table.data["metric"] == metric] if table is not None else None
    return df if df is not None and (df["relation"] == "suspect").any() else None


def suspect_curve(df: pd.DataFrame, kind: str, column: str = "relative") -> pd.DataFrame:
    """Mean, std, n over victims of ``column`` for each suspect epoch: ``t, mean, std, n``."""
    rows = df[(df["relation"] == "suspect") & (df["kind"] == kind)]
    units = rows.groupby(["victim_seed", "epoch_b"], as_index=False)[column].mean()
    return stats.by_unit(units, "epoch_b", column)


def unrelated_units(df: pd.DataFrame, column: str = "relative") -> pd.Series:
    """One value per unordered pair {victim, other seed} (both directions averaged)."""
    rows = df[df["relation"] == "unrelated"]
    if rows.empty:
        return pd.Series(dtype=float)
    return stats.pair_units(rows, column, "victim_seed", "seed_b", by=())[column]


def final_rows(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The suspect rows of ``kind`` at each victim's last suspect epoch."""
    if df.empty:
        return df
    rows = df[(df["relation"] == "suspect") & (df["kind"] == kind)]
    last = rows.groupby("victim_seed")["epoch_b"].transform("max")
    return rows[rows["epoch_b"] == last]


def final_suspects(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per victim, its suspect of ``kind`` at the last epoch: victim_seed, epoch_b and the means
    of value, relative, closer_percent, test_accuracy, forget_accuracy."""
    rows = final_rows(df, kind)
    if rows.empty:
        return pd.DataFrame(columns=["victim_seed", "epoch_b", *NUMBERS])
    return rows.groupby(["victim_seed", "epoch_b"], as_index=False)[NUMBERS].mean()


def accuracy_summary(rows: pd.DataFrame) -> dict:
    """Test and forget accuracy (%) of the models b of ``rows`` (one unit per model), how many
    models there are and how many the study flags ``broken``."""
    if rows.empty:
        rows = pd.DataFrame(columns=["seed_b", "epoch_b", *NUMBERS, "broken"])
    models = rows.groupby(["seed_b", "epoch_b"]).agg(
        test=("test_accuracy", "mean"),
        forget=("forget_accuracy", "mean"),
        broken=("broken", "any"),
    )
    return {
        "test": stats.summarize(models["test"] * 100),
        "forget": stats.summarize(models["forget"] * 100),
        "n_runs": len(models),
        "n_broken": int(models["broken"].sum()),
    }
