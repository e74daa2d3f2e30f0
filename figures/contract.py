"""The figures' side of the result tables' contract: the columns they read, per (study, table),
and what every cell of those columns must hold.

The studies declare the columns they write (``experiments.studies.STUDIES[study].tables``);
``figures`` imports no study (the studies import torch), so the columns its outputs rely on are
declared on this side, by the consumer: each module of ``figures.catalog`` that reads a study's
tables declares ``COLUMNS = {(study, table): (column, ...)}``, every column some module of
``figures`` reads, in the study's order (one module per table: the study's own figure module, so a
new study adds its entry there and touches no shared file). ``declared()`` collects them;
``figures.load.read_table`` refuses a file without one of them; tests/test_figures_contract.py
checks that each list is part of what its study writes and that every ``Read`` has one.

What a cell may hold is ``RULES``: one rule per column name (a name means one thing in every
study's tables: ``value`` is a distance, ``p_value`` a probability); a new study's column with
a new name gets its rule from the study's catalog module (its own ``RULES``, collected by
``rules()``; ``declared()`` refuses a column without one). ``checked`` applies
them when a table is read, so a NaN, an impossible value (a negative distance, an accuracy of
1.3) or a file cut short is one ``TableError`` naming the file, the row and the column, never a
row silently dropped or a number drawn from it.
"""

from __future__ import annotations

import csv
import functools
import importlib
import io
import pkgutil
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import UserError

EDITED = "was the file cut short or edited?"
# float64 rounding: ModelDiff's cosine distance of two parallel vectors is 1 - 1.0000000000000002
TOLERANCE = 1e-9


class TableError(UserError, ValueError):
    """A result table (TSV/JSON) is unreadable or not the table a figure needs."""


def as_flag(value):
    """A boolean cell (``True``, ``false``, 1, ...) as True/False; None when empty or not one."""
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())
    return None if pd.isna(value) else bool(value)


@dataclass(frozen=True)
class Rule:
    """What the cells of a column hold. ``kind``: ``text`` (non-empty), ``flag`` (a boolean),
    ``count`` (a whole number: a seed, an epoch, a size) or ``number`` (a finite float), within
    [``low``, ``high``] (None: unbounded). ``optional``: the study writes NaN (or "") where the
    value does not apply, e.g. an accuracy a run did not record; every other cell must be there."""

    kind: str
    what: str
    low: float | None = None
    high: float | None = None
    optional: bool = False


TEXT, NOTE = Rule("text", "a name"), Rule("text", "a note", optional=True)
FLAG, COUNT = Rule("flag", "a boolean"), Rule("count", "a count, seed or epoch", low=0)
DISTANCE = Rule("number", "a distance", low=0)
RATIO = Rule("number", "a relative distance (NaN without unrelated pairs)", low=0, optional=True)
FRACTION, PROBABILITY = Rule("number", "a fraction", 0, 1), Rule("number", "a p-value", 0, 1)
ACCURACY = Rule("number", "an accuracy in [0, 1] (NaN: not recorded)", 0, 1, optional=True)
RULES: dict[str, Rule] = {
    **dict.fromkeys(("dataset", "metric", "relation", "kind", "pair", "suspect", "method", "task",
                     "subtask", "source", "other", "role", "reference_rule"), TEXT),
    "untestable": NOTE,  # "" where the study can judge the suspect
    **dict.fromkeys(("related", "ci_excludes_1", "broken", "same_task", "detected_relative",
                     "detected_closest"), FLAG),
    **dict.fromkeys(("seed", "seed_a", "seed_b", "victim_seed", "epoch_a", "epoch_b", "t", "k",
                     "size", "repeat", "num_points", "n_independent", "n_positive",
                     "n_negative"), COUNT),
    **dict.fromkeys(("value", "distance"), DISTANCE),
    **dict.fromkeys(("relative", "relative_parent", "relative_suspect", "relative_retrained",
                     "reference", "ci_low", "ci_high"), RATIO),
    "closer_percent": Rule("number", "100 × (1 − relative), at most 100", high=100, optional=True),
    **dict.fromkeys(("agreement", "agreement_near_boundary", "agreement_test"), FRACTION),
    **dict.fromkeys(("test_accuracy", "forget_accuracy", "victim_train_accuracy",
                     "victim_forget_accuracy", "victim_test_accuracy"), ACCURACY),
    **dict.fromkeys(("p_value", "p_further"), PROBABILITY),
    "auc": Rule("number", "a ROC AUC (NaN: no positives or negatives)", 0, 1, optional=True),
    "tpr_at_5fpr": Rule("number", "a true positive rate in %", 0, 100, optional=True),
}  # fmt: skip


def _catalog():
    """Every module of figures.catalog, by name."""
    import figures.catalog as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        yield info.name, importlib.import_module(f"{package.__name__}.{info.name}")


@functools.cache
def rules() -> dict[str, Rule]:
    """`RULES`, and the rules a catalog module gives the new columns its study writes (its own
    `RULES`: a new study's columns need no edit here); a name keeps one meaning everywhere."""
    found = dict(RULES)
    for name, module in _catalog():
        for column, rule in getattr(module, "RULES", {}).items():
            if found.setdefault(column, rule) != rule:
                raise AssertionError(f"figures.catalog.{name}: {column!r} has another rule")
    return found


@functools.cache
def declared() -> dict[tuple[str, str], tuple[str, ...]]:
    """(study, table) -> the columns the figures read, from every catalog module's `COLUMNS`."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, module in _catalog():
        for key, columns in getattr(module, "COLUMNS", {}).items():
            if key in found:
                raise AssertionError(f"figures.catalog.{name}: {key} is declared twice")
            unruled = [c for c in columns if c not in rules()]
            if unruled:
                raise AssertionError(f"figures.catalog.{name}: no rule for {unruled} (RULES)")
            found[key] = tuple(columns)
    return found


def whole_rows(path, text: str) -> None:
    """Refuse a file cut short: a row with fewer fields than the header, or a last row without
    its newline (the pipeline writes every row whole, each ending in a newline).

    Rows are counted as pandas reads them: the data rows from 1, blank lines left out."""
    header, row, last = None, 0, []
    for fields in csv.reader(io.StringIO(text), delimiter="\t"):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if header is None:
            header = last = fields
            continue
        row, last = row + 1, fields
        if len(fields) < len(header):
            raise TableError(f"{path}, row {row}, column {header[len(fields)]!r}: missing (the "
                             f"row has {len(fields)} of the header's {len(header)} fields; {EDITED})")  # fmt: skip
    if header is not None and not text.endswith("\n"):
        where = f"row {row}" if row else "the header"
        raise TableError(f"{path}, {where}, column {header[len(last) - 1]!r}: the file ends "
                         f"inside it, without a final newline ({EDITED})")  # fmt: skip


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _out_of_range(rule: Rule, values: np.ndarray):
    """(which numbers lie outside their rule's range, the message of row i)."""
    low = -np.inf if rule.low is None else rule.low
    high = np.inf if rule.high is None else rule.high
    with np.errstate(invalid="ignore"):
        out = (values < low - TOLERANCE) | (values > high + TOLERANCE)
    return out, lambda i: f"{values[i]:g} is outside [{low:g}, {high:g}]: {rule.what}"


def _cells(rule: Rule, raw: pd.Series) -> tuple[pd.Series, tuple[int, str] | None]:
    """(the column typed as its rule says, (index, why) of its first cell that breaks the rule,
    None when none does)."""
    empty = raw.isna().to_numpy()
    if not pd.api.types.is_numeric_dtype(raw):  # a cell of spaces is empty too
        empty = empty | raw.astype(str).str.strip().eq("").to_numpy()
    problems = []  # (mask, message of row i), in the order they are reported within a cell
    if not rule.optional:
        missing = f"empty or NaN (the pipeline always writes this column; {EDITED})"
        problems.append((empty, lambda i: missing))
    typed = raw
    if rule.kind == "flag":
        typed = raw.map(as_flag).astype("boolean")
        bad = ~empty & typed.isna().to_numpy()
        problems.append((bad, lambda i: f"{_shown(raw.iloc[i])} is not a boolean (True/False)"))
    elif rule.kind in ("count", "number"):
        typed = pd.to_numeric(raw, errors="coerce").astype(float)
        values = typed.to_numpy()
        finite, fraction = np.isfinite(values), np.zeros_like(values)
        np.mod(values, 1.0, out=fraction, where=finite)
        problems += [
            (~empty & np.isnan(values), lambda i: f"{_shown(raw.iloc[i])} is not a number"),
            (np.isinf(values), lambda i: f"{_shown(raw.iloc[i])} is not a finite number"),
            _out_of_range(rule, values),
        ]
        if rule.kind == "count":
            problems.append((fraction != 0, lambda i: f"{values[i]:g} is not whole: {rule.what}"))
    bad = np.flatnonzero(np.logical_or.reduce([mask for mask, _ in problems])) if problems else []
    if len(bad):
        i = int(bad[0])
        return typed, (i, next(message(i) for mask, message in problems if mask[i]))
    return (typed.astype("int64") if rule.kind == "count" else typed), None


def checked(df: pd.DataFrame, path, study: str, table: str) -> pd.DataFrame:
    """``df`` (read from ``path``) with its declared columns typed by their rules: numbers as
    floats, counts as integers, flags as pandas' nullable booleans.

    Raises:
        TableError: naming the first cell (by row, then column) that breaks its column's rule.
    """
    out, found = df.copy(), []
    for column in declared()[study, table]:
        out[column], problem = _cells(rules()[column], df[column])
        if problem is not None:
            found.append((*problem, column))
    if found:  # the first row with a bad cell; in it, the first declared column
        i, why, column = min(found, key=lambda f: f[0])
        raise TableError(f"{path}, row {i + 1}, column {column!r}: {why}")
    return out
