"""The verdicts of section 5 as a table (``.csv`` numeric, ``.md`` GitHub, ``.tex`` booktabs).

table_verdicts
    Every row of the verdict tables ``verdicts/{dataset}/{refset}/{study}.tsv`` (relative
    distance with its bootstrap CI over reference points, the seed-level p-value in the direction
    the paper claims for that kind of suspect, number of independent pairs, the study's
    ``related`` (the paper's rule, relative < 1) and ``ci_excludes_1``, and both in words), then
    one summary row per (dataset, suspect, metric): mean relative distance with a t-interval over
    victims (the test that can speak: the seed-to-seed variance is in it), the victims flagged
    related, beside what the paper found for that kind of suspect. The CSV holds
    both, told apart by its ``level`` column (``victim``, ``summary``); the ``.md`` and ``.tex``
    files hold two tables.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from core.datasets import DATASETS
from figures import paper_values as paper
from figures import stats
from figures import suspects as s5
from figures.load import columns, read_table, refset_of
from figures.spec import Output, Read
from figures.style import dataset_label
from figures.tabulate import DASH, Layout, fmt_pm, ordered, write_table

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("extraction", "verdicts"): (
        "dataset", "suspect", "victim_seed", "seed_b", "epoch_b", "metric", "distance", "relative",
        "p_value", "p_further", "ci_low", "ci_high", "n_independent", "related", "ci_excludes_1",
        "victim_train_accuracy", "victim_forget_accuracy", "victim_test_accuracy", "untestable",
    ),
    ("unlearning", "verdicts"): (
        "dataset", "suspect", "victim_seed", "seed_b", "epoch_b", "metric", "distance", "relative",
        "p_value", "p_further", "ci_low", "ci_high", "n_independent", "related", "ci_excludes_1",
        "victim_train_accuracy", "victim_forget_accuracy", "victim_test_accuracy", "untestable",
    ),
}  # fmt: skip

READS = {
    "extraction": Read("extraction", "verdicts"),
    "unlearning": Read("unlearning", "verdicts"),
}
MEANINGS = {  # suspect kind (or the start of one) -> (words when related, words when not)
    "unlearn-exact": ("still close to the original",
                      "as far as an independent model: consistent with unlearning"),
    "unlearn-shard": ("still close to the original",
                      "as far as an independent model: consistent with unlearning"),
    "unlearn": ("still close to the original: not unlearned",
                "far from the original: consistent with unlearning"),
    "extract": ("copy detected", "copy not detected"),
}  # fmt: skip


def verdict_words(suspect: str, related, ci_excludes_1, untestable: str = "") -> str:
    """The study's verdict on one suspect in plain words: what ``related`` means for the
    suspect's kind (a detected copy, a model that still carries the forgotten data, ...) and
    whether the bootstrap interval over reference points excludes 1 (or why the study cannot
    judge it: ``untestable``). Decides nothing: all three come from the verdict table."""
    if related is None or pd.isna(related):
        return "no verdict"
    if isinstance(untestable, str) and untestable:
        return f"inconclusive: {untestable}"
    kind = next((k for k in MEANINGS if suspect.startswith(k)), None)
    yes, no = MEANINGS.get(kind, ("related", "not related"))
    if ci_excludes_1 is not None and not pd.isna(ci_excludes_1) and ci_excludes_1:
        return f"{yes if related else no} (the CI over references excludes 1)"
    return f"{yes if related else no} (the CI over references includes 1)"


def read_verdicts(inputs: dict[str, list[Path]]) -> pd.DataFrame:
    """Every verdict row of every role, with its ``study`` (the role's) and ``refset``."""
    frames = []
    for role, read in READS.items():
        for path in map(Path, inputs.get(role, ())):
            df = read_table(path, read.study, read.table)
            if df is not None:
                refsets = [refset_of(path, d) for d in df["dataset"]]
                frames.append(df.assign(refset=refsets, study=read.study))
    if not frames:
        return pd.DataFrame(columns=[*columns("extraction", "verdicts"), "refset", "study"])
    return pd.concat(frames, ignore_index=True)


def _ci_cell(rel, low, high) -> str:
    if pd.isna(rel):
        return DASH
    if pd.isna(low) or pd.isna(high):
        return f"{rel:.2f}"
    return f"{rel:.2f} [{low:.2f}, {high:.2f}]"


def claimed_p(r) -> float:
    """The seed-level p-value in the direction the paper claims for the row's kind of suspect:
    ``p_further`` for a retrain (exact, from an independent seed, or on a shard: the paper finds
    an exact retrain further than independent models), else ``p_value`` (closer)."""
    further = str(r["suspect"]).startswith(s5.RETRAIN_KINDS)
    return r.get("p_further", float("nan")) if further else r["p_value"]


def _p_cell(p, n) -> str:
    if pd.isna(p):
        return DASH
    floor = 1.0 / (1.0 + n) if not pd.isna(n) and n else 0.0
    return f"{p:.3f}" + (" (min.)" if math.isclose(p, floor) else "")


def _accuracies_cell(r) -> str:
    """The victim's train / forget-set / test accuracy in %, "—" for what was not recorded."""
    keys = ("victim_train_accuracy", "victim_forget_accuracy", "victim_test_accuracy")
    values = [r.get(k, float("nan")) for k in keys]
    return " / ".join(DASH if pd.isna(v) else f"{100 * v:.0f}" for v in values)


def _yes_no(flag) -> str:
    return DASH if pd.isna(flag) else ("yes" if flag else "no")


def _paper_expectation(dataset: str, kind: str) -> str:
    expected = paper.SUSPECT_EXPECTED_RELATED.get(kind)
    if expected is None or dataset not in paper.EXTRACTION_RELATIVE_DISTANCE:
        return DASH
    if kind.startswith("extract"):
        value = f"{paper.EXTRACTION_RELATIVE_DISTANCE[dataset].mean:.2f}"
    elif kind == "unlearn-exact":
        value = f"{paper.UNLEARNING_EXACT_RELATIVE[dataset].mean:.2f}"
    else:
        value = paper.UNLEARNING_APPROXIMATE_TEXT
    return f"{'related' if expected else 'not related'} ({value})"


def _verdict_order(df: pd.DataFrame) -> pd.DataFrame:
    datasets = ordered(set(df["dataset"]), DATASETS)
    kinds = ordered(set(df["suspect"]), [*s5.EXTRACTION_KINDS, *s5.UNLEARNING_KINDS])
    key = {"dataset": datasets.index, "suspect": kinds.index}
    by = [c for c in ("dataset", "suspect", "metric", "victim_seed") if c in df.columns]
    return df.sort_values(by, key=lambda c: c.map(key[c.name]) if c.name in key else c)


def _victim_row(r) -> tuple[dict, list[str]]:
    words = "no verdict (no distance)" if pd.isna(r["relative"]) else (
        verdict_words(r["suspect"], r["related"], r["ci_excludes_1"], r.get("untestable", "")))  # fmt: skip
    record = {"level": "victim", **{c: r[c] for c in columns("extraction", "verdicts")},
              "refset": r["refset"], "study": r["study"], "verdict": words}  # fmt: skip
    cells = [dataset_label(r["dataset"]), s5.KIND_SHORT.get(r["suspect"], r["suspect"]),
             str(r["victim_seed"]), r["metric"], _ci_cell(r["relative"], r["ci_low"], r["ci_high"]),
             _p_cell(claimed_p(r), r["n_independent"]), str(r["n_independent"]),
             _accuracies_cell(r), _yes_no(r["related"]), _yes_no(r["ci_excludes_1"]),
             words]  # fmt: skip
    return record, cells


def _interval_cell(low, high) -> str:
    if pd.isna(low) or pd.isna(high):
        return DASH
    side = "below 1" if high < 1 else "above 1" if low > 1 else "includes 1"
    return f"[{low:.2f}, {high:.2f}] ({side})"


def _summary_row(g: pd.DataFrame, dataset: str, kind: str, metric: str):
    mean, std, n = stats.summarize(g["relative"])
    low, high = stats.t_interval(mean, std, n)
    flagged = int(g["related"].fillna(False).sum())
    firm = int(g["ci_excludes_1"].fillna(False).sum())
    expectation = _paper_expectation(dataset, kind) if metric == "cosine" else DASH
    record = {"level": "summary", "dataset": dataset, "suspect": kind, "metric": metric,
              "relative": mean, "relative_std": std, "t_low": low, "t_high": high,
              "n_victims": n, "n_related": flagged, "n_ci_excludes_1": firm,
              "fraction_related": flagged / n if n else float("nan"),
              "paper": expectation}  # fmt: skip
    share = f"{flagged}/{n} ({100 * flagged / n:.0f} %)" if n else DASH
    cells = [dataset_label(dataset), s5.KIND_SHORT.get(kind, kind), metric, str(n),
             fmt_pm(mean, std), _interval_cell(low, high), share, f"{firm}/{n}" if n else DASH,
             expectation]  # fmt: skip
    return record, cells


VICTIM_HEADERS = ["Dataset", "Suspect", "Victim seed", "Metric", "Relative [95 % CI, refs]",
                  "p (seeds)", "Independent pairs", "Victim acc. train / forget / test (%)",
                  "Related", "CI excludes 1", "Verdict"]  # fmt: skip
SUMMARY_HEADERS = ["Dataset", "Suspect", "Metric", "Victims", "Relative distance",
                   "95 % t-interval (victims)", "Flagged related", "CI excludes 1",
                   "Paper"]  # fmt: skip
VICTIM_NOTES = [
    "Relative = d(victim, suspect) / mean d of independent pairs (the victim and other seeds' "
    "standard models, and pairs of those); CI: percentile bootstrap over reference points, "
    "which ignores the seed-to-seed variance (not a significance test). p (seeds): the "
    "suspect's distance ranked among the n independent pairs' in the direction the paper "
    "claims (closer for copies and amnesiac models, further for exact retrains), "
    "(1 + #{pairs on the claim's wrong side}) / (1 + n); its smallest possible value, 1/(1 + n), "
    "is marked (min.): 0.25 with 3 seeds, 0.091 with 5. Victim accuracies at its last epoch: "
    "train (running, over augmented batches), forget set (unlearning datasets only) and test. "
    "Related and CI excludes 1: the verdict table's columns (the paper's rule, relative < 1; "
    "and a suspect the study can judge: an exact retrain of an original that did not memorise "
    "its forget set is inconclusive, whatever its distance).",
]
SUMMARY_NOTES = [
    "Per (dataset, suspect, metric): relative distance mean ± std over victims (ddof=1) and its "
    "95 % Student t-interval over victims (the victims share their unrelated models, so it is "
    "somewhat optimistic), the victims whose suspect the study flags related, and how many "
    "bootstrap CIs over references exclude 1. Paper: "
    "what §5.2/§5.3 find (extracted copies related; exactly unlearned models not; approximately "
    "unlearned models almost at distance 0).",
]


def render_table_verdicts(inputs, out) -> list[Path]:
    """Section 5 verdicts per victim in words, and a summary per (dataset, suspect, metric)."""
    df = _verdict_order(read_verdicts(inputs))
    victims = [_victim_row(r) for _, r in df.iterrows()]
    found = set(zip(df["dataset"], df["suspect"], df["metric"], strict=True))
    expected = {(d, k, "cosine") for d in paper.EXTRACTION_RELATIVE_DISTANCE
                for k in paper.SUSPECT_EXPECTED_RELATED}  # fmt: skip
    keys = pd.DataFrame(sorted(found | expected), columns=["dataset", "suspect", "metric"])
    summary = [
        _summary_row(
            df[(df["dataset"] == d) & (df["suspect"] == k) & (df["metric"] == m)], d, k, m
        )
        for d, k, m in _verdict_order(keys).itertuples(index=False)
    ]
    counts = ["victim_seed", "seed_b", "epoch_b", "n_independent", "n_victims", "n_related"]
    data = pd.DataFrame([r for r, _ in victims + summary])
    data = data.astype({c: "Int64" for c in [*counts, "n_ci_excludes_1"] if c in data.columns})
    cells, notes = [c for _, c in victims], VICTIM_NOTES
    if not cells:
        cells, notes = [[DASH] * len(VICTIM_HEADERS)], [*notes, "No verdict tables were given."]
    victim_table = Layout(VICTIM_HEADERS, cells, notes, align="llrlrrrrlll")
    summary_table = Layout(SUMMARY_HEADERS, [c for _, c in summary], SUMMARY_NOTES,
                           align="lllrrlrrl", title="Summary")  # fmt: skip
    return write_table(out, data, victim_table, summary_table)


OUTPUTS = [Output("table_verdicts", "table", READS, (), render_table_verdicts)]
