"""Extraction and unlearning numbers of section 5 as tables (``.csv``, ``.md``, ``.tex``).

table_extraction
    Per dataset and extraction mode: the relative distance between victim and copy at the copy's
    last epoch (mean ± std over victims) and "the copy is X % closer than an independently
    trained model", X_v = 100 (1 − d(victim v, copy of v) / mean d(v, unrelated models of v)),
    mean ± std over victims v. The claim holds when the copy is closer than unrelated models:
    relative < 1 and X > 0.
table_unlearning
    Per dataset and kind of unlearning: the relative distance from the original to the
    unlearned model and "X % further than an independently retrained model",
    X_v = 100 (d(original v, unlearned v) / mean d(v, unrelated models of v) − 1), mean ± std
    over originals; test and forget-set accuracy of the unlearned models (``metrics.json``). A
    model whose test accuracy is near chance (``suspects.broken_threshold``) is called broken: its
    distance says nothing about unlearning.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from figures import paper_values as paper
from figures import stats
from figures import suspects as s5
from figures.style import dataset_label
from figures.tabulate import DASH, fmt_pm, paper_cell, write_table

log = logging.getLogger("figures")
VISION = ("cifar10", "cifar100")
KIND_SHORT = {
    "extract-labels": "labels (cross-entropy)",
    "extract-outputs": "outputs (MSE)",
    "unlearn-exact": "exact (retrained)",
    "unlearn-amnesiac": "approximate (amnesiac)",
}


def order_first(found, first) -> list:
    return [*first, *sorted(set(found) - set(first))]


def render_table_extraction(inputs, out, metric="cosine", **_) -> list[Path]:
    """Final-epoch distance of extracted copies and how much closer they are (module docstring)."""
    tables = s5.read_suspects(inputs, s5.EXTRACTION_KINDS)
    records, cells = [], []
    for dataset in order_first(tables, VISION):
        df = tables[dataset].data if dataset in tables else pd.DataFrame()
        df = df[df["metric"] == metric] if len(df) else df
        found = set(df["kind"]) - {"standard"} if len(df) else set()
        for kind in order_first(found, s5.EXTRACTION_KINDS):
            last = s5.final_suspects(df, kind)
            rel_m, rel_s, _ = stats.summarize(last["relative"])
            n = len(last)
            cl_m, cl_s, _ = s5.closer_percent(last["ratio"])
            n_hold = int(((last["relative"] < 1) & (last["ratio"] < 1)).sum())
            known = n and not (pd.isna(rel_m) or pd.isna(cl_m))
            holds = bool(rel_m < 1 and cl_m > 0) if known else None
            cosine = metric == "cosine"
            p_rel = paper.EXTRACTION_RELATIVE_DISTANCE.get(dataset) if cosine else None
            p_cl = paper_cell(paper.EXTRACTION_CLOSER.get(dataset) if cosine else None)
            epochs = sorted({int(e) for e in last["epoch_b"]})
            records.append(
                {
                    "dataset": dataset,
                    "mode": kind,
                    "metric": metric,
                    "n_victims": n,
                    "last_epoch": epochs[-1] if epochs else None,
                    "relative_mean": rel_m,
                    "relative_std": rel_s,
                    "closer_mean": cl_m,
                    "closer_std": cl_s,
                    "n_victims_closer": n_hold,
                    "claim_holds": holds,
                    "paper_relative": p_rel.mean if p_rel else float("nan"),
                    "paper_closer_mean": p_cl[1],
                    "paper_closer_std": p_cl[2],
                }
            )
            if holds is None:
                verdict = DASH if not n else "— (no unrelated models to compare with)"
            elif holds:
                verdict = f"yes: closer than unrelated models ({n_hold}/{n} copies)"
            else:
                verdict = f"no: not closer than unrelated models ({n_hold}/{n} copies closer)"
            cells.append(
                [
                    dataset_label(dataset),
                    KIND_SHORT.get(kind, kind),
                    str(n),
                    ",".join(map(str, epochs)) or DASH,
                    fmt_pm(rel_m, rel_s),
                    f"{p_rel.mean:.2f}" if p_rel else DASH,
                    fmt_pm(cl_m, cl_s),
                    p_cl[0],
                    verdict,
                ]
            )
    headers = ["Dataset", "Extraction", "Victims", "Last epoch", "Relative distance"]
    headers += ["Paper", "Closer than unrelated (%)", "Paper (%)", "Claim holds?"]
    notes = [
        f"{metric} distance between each victim and its extracted copy at the copy's last epoch; "
        "relative = distance / mean distance of unrelated models (other seeds). Closer = 100 × "
        "(1 − d(victim, copy) / mean d(victim, unrelated models)), per victim, then mean ± std "
        "over victims (ddof=1). The claim (§5.2) holds when relative < 1 and closer > 0. Paper: "
        "§5.2 (0.80, 0.60) and §1 (% closer), for one extraction setup: its text trains on argmax "
        "labels, its released code on raw outputs with MSE.",
    ]
    data = pd.DataFrame(records).astype({"claim_holds": "boolean", "last_epoch": "Int64"})
    return write_table(out, data, headers, cells, notes, align="llrrrrrrl")


def _accuracy_cell(summary: tuple[float, float, int]) -> str:
    mean, std, n = summary
    return fmt_pm(mean, std, 1) if n else DASH


def _unlearning_reading(kind: str, rel: float, n: int, broken: int, n_runs: int) -> str:
    if broken:
        return f"BROKEN MODEL: test accuracy near chance ({broken}/{n_runs} runs); no conclusion"
    if not n:
        return DASH
    if pd.isna(rel):
        return "— (no unrelated models to compare with)"
    if kind == "unlearn-exact":
        if rel >= 1:
            return "as far as an independent model: consistent with unlearning"
        return "closer than independent models: the data's influence remains"
    if rel < 1:
        return "still close to the original: the data's influence was not removed"
    return "as far as an independent model"


def render_table_unlearning(inputs, out, metric="cosine", **_) -> list[Path]:
    """Distance of unlearned models to the original, and their accuracies (module docstring)."""
    tables = s5.read_suspects(inputs, s5.UNLEARNING_KINDS)
    acc = s5.read_accuracies(inputs)
    records, cells = [], []
    for dataset in order_first(tables, VISION):
        df = tables[dataset].data if dataset in tables else pd.DataFrame()
        df = df[df["metric"] == metric] if len(df) else df
        found = set(df["kind"]) - {"standard"} if len(df) else set()
        for kind in order_first(found, s5.UNLEARNING_KINDS):
            last = s5.final_suspects(df, kind)
            rel_m, rel_s, _ = stats.summarize(last["relative"])
            n = len(last)
            fu_m, fu_s, _ = s5.further_percent(last["ratio"])
            a = s5.accuracy_summary(acc, dataset, kind)
            cosine = metric == "cosine"
            if kind == "unlearn-exact" and cosine:
                p_rel = paper.UNLEARNING_EXACT_RELATIVE.get(dataset)
                p_rel_text = f"{p_rel.mean:.2f} (1 + X/100)" if p_rel else DASH
                p_fu = paper_cell(paper.UNLEARNING_FURTHER.get(dataset))
            elif kind == "unlearn-amnesiac" and cosine and dataset in VISION:
                p_rel = paper.UNLEARNING_APPROXIMATE_RELATIVE
                p_rel_text, p_fu = paper.UNLEARNING_APPROXIMATE_TEXT, paper_cell(None)
            else:
                p_rel, p_rel_text, p_fu = None, DASH, paper_cell(None)
            reading = _unlearning_reading(kind, rel_m, n, a["n_broken"], a["n_runs"])
            records.append(
                {
                    "dataset": dataset,
                    "kind": kind,
                    "metric": metric,
                    "n_originals": n,
                    "relative_mean": rel_m,
                    "relative_std": rel_s,
                    "further_mean": fu_m,
                    "further_std": fu_s,
                    "n_runs": a["n_runs"],
                    "test_acc_mean": a["test"][0],
                    "test_acc_std": a["test"][1],
                    "forget_acc_mean": a["forget"][0],
                    "forget_acc_std": a["forget"][1],
                    "n_broken": a["n_broken"],
                    "paper_relative": p_rel.mean if p_rel else float("nan"),
                    "paper_further_mean": p_fu[1],
                    "paper_further_std": p_fu[2],
                    "reading": reading,
                }
            )
            cells.append(
                [
                    dataset_label(dataset),
                    KIND_SHORT.get(kind, kind),
                    str(n),
                    fmt_pm(rel_m, rel_s),
                    p_rel_text,
                    fmt_pm(fu_m, fu_s),
                    p_fu[0],
                    _accuracy_cell(a["test"]),
                    _accuracy_cell(a["forget"]),
                    reading,
                ]
            )
    headers = ["Dataset", "Unlearning", "Originals", "Relative distance", "Paper"]
    headers += ["Further than unrelated (%)", "Paper (%)", "Test acc. (%)", "Forget acc. (%)"]
    headers += ["Reading"]
    limits = ", ".join(f"{dataset_label(d)} ≤ {100 * s5.broken_threshold(d):g} %" for d in VISION)
    notes = [
        f"{metric} distance from each original model (standard training, last epoch) to its "
        "unlearned version, on the forget set as reference set; relative = distance / mean "
        "distance of unrelated models. Further = 100 × (d(original, unlearned) / mean "
        "d(original, unrelated models) − 1), per original, then mean ± std (ddof=1). "
        "Accuracies: test set and forget set (true labels) of the unlearned models, mean ± std "
        f"over runs. Broken = test accuracy near chance ({limits}). Paper: §1 (exact) and "
        "§5.3 (approximate: 'almost null').",
    ]
    data = pd.DataFrame(records)
    return write_table(out, data, headers, cells, notes, align="llrrlrrrrl")
