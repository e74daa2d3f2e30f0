"""The verdicts of section 5 as a table (``.csv`` numeric, ``.md`` GitHub, ``.tex`` booktabs).

table_verdicts
    Every row of the verdict tables ``verdicts/{dataset}/{refset}/{study}.tsv`` (relative
    distance with its bootstrap CI, p-value, number of independent pairs, the paper's rule
    relative < 1, and a verdict in words), then one summary row per (dataset, suspect, metric):
    mean relative distance and fraction of victims flagged related, beside what the paper found
    for that kind of suspect. The CSV holds both, told apart by its ``level`` column (``victim``,
    ``summary``); the ``.md`` and ``.tex`` files hold two tables.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from figures import paper_values as paper
from figures import stats
from figures import suspects as s5
from figures.case_tables import KIND_SHORT, VISION, order_first
from figures.load import output_stem, write_text
from figures.style import dataset_label
from figures.tabulate import DASH, fmt_pm, to_latex, to_markdown


def verdict_words(suspect: str, relative, ci_low, ci_high) -> str:
    """The verdict of one row in plain words: related or not by the paper's rule (relative < 1),
    how firmly (whether the bootstrap CI stays on one side of 1), and what it means for the
    suspect's kind (a detected copy, a model that still carries the forgotten data, ...)."""
    if relative is None or pd.isna(relative):
        return "no verdict (no distance)"
    related = relative < 1.0
    firm = (ci_high < 1.0) if related else (ci_low > 1.0)
    if pd.isna(ci_low) or pd.isna(ci_high):
        firm = False
    if suspect.startswith("extract"):
        meaning = "copy detected" if related else "copy not detected"
    elif suspect == "unlearn-exact":
        meaning = (
            "as far as an independent model: consistent with unlearning"
            if not related
            else "still close to the original"
        )
    elif suspect.startswith("unlearn"):
        meaning = (
            "still close to the original: not unlearned"
            if related
            else "far from the original: consistent with unlearning"
        )
    else:
        meaning = "related" if related else "not related"
    strength = "CI entirely below 1" if related else "CI entirely above 1"
    if not firm:
        strength = "but the CI crosses 1: not conclusive"
    return f"{meaning} ({strength})"


def _ci_cell(rel, low, high) -> str:
    if pd.isna(rel):
        return DASH
    if pd.isna(low) or pd.isna(high):
        return f"{rel:.2f}"
    return f"{rel:.2f} [{low:.2f}, {high:.2f}]"


def _p_cell(p, n) -> str:
    if pd.isna(p):
        return DASH
    floor = 1.0 / (1.0 + n) if not pd.isna(n) and n else 0.0
    return f"{p:.3f}" + (" (min.)" if math.isclose(p, floor) else "")


def _paper_expectation(dataset: str, kind: str) -> str:
    expected = paper.SUSPECT_EXPECTED_RELATED.get(kind)
    if expected is None or dataset not in VISION:
        return DASH
    if kind.startswith("extract"):
        value = f"{paper.EXTRACTION_RELATIVE_DISTANCE[dataset].mean:.2f}"
    elif kind == "unlearn-exact":
        value = f"{paper.UNLEARNING_EXACT_RELATIVE[dataset].mean:.2f}"
    else:
        value = paper.UNLEARNING_APPROXIMATE_TEXT
    return f"{'related' if expected else 'not related'} ({value})"


def _verdict_order(df: pd.DataFrame) -> pd.DataFrame:
    datasets = order_first(set(df["dataset"]), [*VISION, *paper.DATASETS])
    kinds = order_first(set(df["suspect"]), [*s5.EXTRACTION_KINDS, *s5.UNLEARNING_KINDS])
    key = {"dataset": datasets.index, "suspect": kinds.index}
    by = [c for c in ("dataset", "suspect", "metric", "victim_seed") if c in df.columns]
    return df.sort_values(
        by,
        key=lambda c: c.map(key[c.name]) if c.name in key else c,
    )


def render_table_verdicts(inputs, out, **_) -> list[Path]:
    """Every verdict row in words, and a summary per (dataset, suspect, metric)."""
    df = _verdict_order(s5.read_verdicts(inputs))
    records, cells = [], []
    for _, r in df.iterrows():
        words = verdict_words(r["suspect"], r["relative"], r["ci_low"], r["ci_high"])
        records.append({"level": "victim", **{c: r[c] for c in (*s5.VERDICT_COLUMNS, "related")},
                        "refset": r["refset"], "study": r["study"], "verdict": words})  # fmt: skip
        related = DASH if pd.isna(r["related"]) else ("yes" if r["related"] else "no")
        cells.append(
            [
                dataset_label(r["dataset"]),
                KIND_SHORT.get(r["suspect"], r["suspect"]),
                str(r["victim_seed"]),
                r["metric"],
                _ci_cell(r["relative"], r["ci_low"], r["ci_high"]),
                _p_cell(r["p_value"], r["n_independent"]),
                str(r["n_independent"]),
                related,
                words,
            ]
        )
    summary_cells = []
    found = set(zip(df["dataset"], df["suspect"], df["metric"], strict=True))
    expected = {(d, k, "cosine") for d in VISION for k in paper.SUSPECT_EXPECTED_RELATED}
    for dataset, kind, metric in _verdict_order(
        pd.DataFrame(sorted(found | expected), columns=["dataset", "suspect", "metric"])
    ).itertuples(index=False):
        g = df[(df["dataset"] == dataset) & (df["suspect"] == kind) & (df["metric"] == metric)]
        mean, std, n = stats.summarize(g["relative"])
        flagged = int(g["related"].fillna(False).astype(bool).sum())
        records.append(
            {"level": "summary", "dataset": dataset, "suspect": kind, "metric": metric,
             "relative": mean, "relative_std": std, "n_victims": n, "n_related": flagged,
             "fraction_related": flagged / n if n else float("nan"),
             "paper": _paper_expectation(dataset, kind) if metric == "cosine" else DASH}
        )  # fmt: skip
        share = f"{flagged}/{n} ({100 * flagged / n:.0f} %)" if n else DASH
        paper_text = _paper_expectation(dataset, kind) if metric == "cosine" else DASH
        summary_cells.append(
            [
                dataset_label(dataset),
                KIND_SHORT.get(kind, kind),
                metric,
                str(n),
                fmt_pm(mean, std),
                share,
                paper_text,
            ]
        )
    headers = ["Dataset", "Suspect", "Victim seed", "Metric", "Relative [95 % CI]", "p-value"]
    headers += ["Independent pairs", "Related by the rule", "Verdict"]
    notes = [
        "Relative = d(victim, suspect) / mean d of independent pairs (the victim and other seeds' "
        "standard models, and pairs of those); CI: percentile bootstrap over reference points. "
        "p = (1 + #{independent pairs at most as far}) / (1 + n): its smallest possible value, "
        "1/(1 + n), is marked (min.). Related: the paper's rule, relative < 1.",
    ]
    summary_headers = ["Dataset", "Suspect", "Metric", "Victims", "Relative distance"]
    summary_headers += ["Flagged related", "Paper"]
    summary_notes = [
        "Per (dataset, suspect, metric): relative distance mean ± std over victims (ddof=1) and "
        "the victims whose suspect is related by the paper's rule. Paper: what §5.2/§5.3 find "
        "(extracted copies related; exactly unlearned models not; approximately unlearned "
        "models almost at distance 0).",
    ]
    counts = ["victim_seed", "seed_b", "epoch_b", "n_independent", "n_victims", "n_related"]
    data = pd.DataFrame(records)
    data = data.astype({c: "Int64" for c in counts if c in data.columns})
    return _write_two(out, data, (headers, cells, notes),
                      (summary_headers, summary_cells, summary_notes))  # fmt: skip


def _write_two(out, data: pd.DataFrame, first, second) -> list[Path]:
    """Like ``tabulate.write_table`` with two tables (per victim, then summary) in each file."""
    stem = output_stem(out)
    if not first[1]:
        first = (first[0], [[DASH] * len(first[0])], [*first[2], "No verdict tables were given."])
    md = "\n".join(
        [
            to_markdown(*first, align="llrlrrrll"),
            "Summary\n",
            to_markdown(*second, align="lllrrrl"),
        ]
    )
    tex = "\n".join([to_latex(*first, align="llrlrrrll"), to_latex(*second, align="lllrrrl")])
    return [
        write_text(stem.with_name(stem.name + ".csv"), data.to_csv(index=False)),
        write_text(stem.with_name(stem.name + ".md"), md),
        write_text(stem.with_name(stem.name + ".tex"), tex),
    ]
