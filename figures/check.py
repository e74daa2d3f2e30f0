"""Check a rerun against a published record: every number of the record, within a stated tolerance.

Usage::

    python -m figures.check RESULTS RECORD [--pairs] [--exact]

RESULTS is a run's ``results/<scale>`` folder, RECORD the record's copy of its numbers
(``docs/reproduction/<scale>``, written by ``figures.record``). Every summary table of RECORD
(``tables/*.csv``: means and spreads over seeds) is compared with the file at the same path under
RESULTS, cell by cell, rows in the order the pipeline writes them; with ``--pairs`` the studies'
per-pair TSV tables too (``DATA``):

- text, flags and whole numbers (datasets, kinds, seeds, epochs, counts) must be equal;
- every other number must lie within the tolerance of its column (``TOLERANCES``, the first
  pattern that matches): the larger of a floor and, where the record gives one, the spread beside
  it (``<column>_std`` in the same row).

A rerun on the same machine and code is bitwise equal (``--pairs --exact`` asks for that). On
another processor training rounds differently: each model, hence each pair's distance, moves (the
AG News record of an AMD EPYC rerun on an Intel Xeon: per-pair distances 10 % apart), while the
summaries stay within their spread over seeds; so the summaries are the default.

Each number outside its tolerance is printed on one line (file, row, the row's identity, column,
both values, the tolerance). The exit status is 0 when every number holds, 1 when one does not
(or a table or row is missing), 2 for a folder that is not a run or a record. The record's
``plan.yaml`` is compared too, as a note: a rerun of another plan is named, not counted.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import UserError
from figures.record import DATA


class CheckError(UserError):
    """A folder given to the check is not a run's results or not a record."""


@dataclass(frozen=True)
class Tolerance:
    """How far a rerun's number may lie from the record's: max(floor, rel * |record|, spread)."""

    floor: float = 0.0
    rel: float = 0.0
    spread: bool = True  # widen to the record's `<column>_std` of the same row

    def of(self, record: float, spread: float | None) -> float:
        width = max(self.floor, self.rel * abs(record))
        return max(width, spread) if self.spread and spread is not None else width


EXACT = Tolerance(spread=False)

# Column patterns (fnmatch, first match wins) -> tolerance. Relative distances within the larger
# of 0.02 and the record's spread; "% closer" and "% further" are (1 - relative) * 100, so 2
# points; p-values one rank step of the smallest test a record holds (1 / (3 + 1)); accuracies
# 2 points on the 0-100 scale or 0.02 as fractions (relative 5 % covers both); raw distances
# and anything else 2 % of the value. The paper's numbers are constants, and a fraction of
# victims is a count: exact.
TOLERANCES: tuple[tuple[str, Tolerance], ...] = (
    ("paper*", EXACT),
    ("*_std", Tolerance(floor=0.02, rel=0.5, spread=False)),
    ("p_value", Tolerance(floor=0.25, spread=False)),
    ("p_further", Tolerance(floor=0.25, spread=False)),
    ("relative*", Tolerance(floor=0.02)),
    ("ci_*", Tolerance(floor=0.02)),
    ("t_low", Tolerance(floor=0.02)),
    ("t_high", Tolerance(floor=0.02)),
    ("closer*", Tolerance(floor=2.0)),
    ("further*", Tolerance(floor=2.0)),
    ("fraction*", EXACT),
    ("*acc*", Tolerance(floor=0.02, rel=0.05)),
    ("*", Tolerance(floor=1e-12, rel=0.02)),
)


def tolerance(column: str) -> Tolerance:
    return next(t for pattern, t in TOLERANCES if fnmatch.fnmatchcase(column, pattern))


def read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CheckError(f"{path}: not a readable table ({exc})") from None


def is_measured(series: pd.Series) -> bool:
    """A column of measured numbers (compared within a tolerance), not an identity or a count."""
    values = series.dropna()
    return pd.api.types.is_float_dtype(series) and not (
        len(values) and (values == values.round()).all() and series.name.startswith("n_")
    )


def identity(row: pd.Series, keys: list[str]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys if pd.notna(row[k]))


def _spread(row: pd.Series, column: str) -> float | None:
    value = row.get(f"{column.removesuffix('_mean')}_std")
    return float(value) if value is not None and pd.notna(value) else None


def _differs(ours, theirs, width: float | None) -> bool:
    """Whether two cells differ: `width` None compares them as they are (text, flags, counts)."""
    if pd.isna(ours) or pd.isna(theirs):
        return pd.isna(ours) != pd.isna(theirs)
    if width is None:
        return ours != theirs
    return not math.isfinite(float(theirs)) or abs(float(theirs) - float(ours)) > width


# What names a row (with the text columns): rows of a rerun are matched to the record's by these,
# so a rerun of more datasets or seeds than the record is checked on the rows they share
ROW_KEYS = ("k", "t", "seed", "seed_a", "seed_b", "epoch_a", "epoch_b", "victim_seed", "size",
            "repeat", "level")  # fmt: skip


def _matched(record: pd.DataFrame, rerun: pd.DataFrame) -> tuple[list, list[int]]:
    """(the rerun's row for each of the record's, None where it has none; the key columns)."""
    keys = [c for c in record.columns
            if not pd.api.types.is_numeric_dtype(record[c]) or c in ROW_KEYS]  # fmt: skip
    if len(record) == len(rerun) and (
        not keys or (record[keys].values == rerun[keys].values).all()
    ):
        return list(range(len(rerun))), keys  # the same rows in the same order
    index = {tuple(map(str, row)): i for i, row in enumerate(rerun[keys].itertuples(index=False))}
    return [index.get(tuple(map(str, row))) for row in record[keys].itertuples(index=False)], keys


def compare_tables(name: str, record: pd.DataFrame, rerun: pd.DataFrame, exact: bool) -> list[str]:
    """One line per difference between a record's table and the rerun's: each record row against
    the rerun's row of the same identity (text columns and `ROW_KEYS`)."""
    missing = [c for c in record.columns if c not in rerun.columns]
    if missing:
        return [f"{name}: the rerun has no column {', '.join(map(repr, missing))}"]
    measured = {c for c in record.columns if is_measured(record[c])}
    rows, keys = _matched(record, rerun)
    lines = []
    for i, j in enumerate(rows):
        ours = record.iloc[i]
        if j is None:
            lines.append(f"{name} row {i + 1} ({identity(ours, keys)}): not in the rerun")
            continue
        theirs = rerun.iloc[j]
        for column in record.columns:
            rule = EXACT if exact else tolerance(column)
            width = rule.of(float(ours[column]), _spread(ours, column)) if (
                column in measured and pd.notna(ours[column])) else None  # fmt: skip
            if _differs(ours[column], theirs[column], width):
                where = f"{name} row {i + 1} ({identity(ours, keys)}) {column}"
                bound = "" if width is None else f" (tolerance {width:.4g})"
                lines.append(f"{where}: record {ours[column]}, rerun {theirs[column]}{bound}")
    return lines


def record_tables(record: Path, pairs: bool = False) -> list[Path]:
    """The summary tables of a record (and its per-pair TSV tables with `pairs`), by their path
    under it."""
    kinds = (".csv", ".tsv") if pairs else (".csv",)
    found = {p for pattern in DATA if pattern.endswith(kinds) for p in record.glob(pattern)}
    return sorted(p.relative_to(record) for p in found)


def plan_note(results: Path, record: Path) -> str | None:
    ours, theirs = record / "plan.yaml", results / "plan.yaml"
    if ours.is_file() and theirs.is_file() and ours.read_text() != theirs.read_text():
        return "note: the rerun's plan.yaml differs from the record's (a rerun of another plan)"
    return None


def check(
    results: Path, record: Path, exact: bool = False, pairs: bool = False
) -> tuple[list[str], int]:
    """(every difference, the number of tables compared) between a rerun and a record."""
    for folder, what in ((results, "a run's results folder"), (record, "a record folder")):
        if not folder.is_dir():
            raise CheckError(f"{folder}: no such folder ({what} was expected)")
    tables = record_tables(record, pairs)
    if not tables:
        raise CheckError(f"{record}: no tables/*.csv (or study tables, with --pairs): not a "
                         "record's data")  # fmt: skip
    lines = []
    for name in tables:
        if not (results / name).is_file():
            lines.append(f"{name}: missing in the rerun ({results / name})")
            continue
        lines += compare_tables(str(name), read_table(record / name), read_table(results / name),
                                exact)  # fmt: skip
    return lines, len(tables)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("results", type=Path, help="the rerun's results/<scale> folder")
    parser.add_argument("record", type=Path, help="the record's data, docs/reproduction/<scale>")
    parser.add_argument("--pairs", action="store_true", help="the per-pair tables too")
    parser.add_argument("--exact", action="store_true", help="every number bitwise (same machine)")
    args = parser.parse_args(argv)
    try:
        lines, n = check(args.results, args.record, args.exact, args.pairs)
    except CheckError as err:
        print(f"figures.check: error: {err}", file=sys.stderr)
        return 2
    if note := plan_note(args.results, args.record):
        print(note)
    for line in lines:
        print(line)
    verdict = "every number holds" if not lines else f"{len(lines)} difference(s)"
    print(f"{n} tables of {args.record} checked against {args.results}: {verdict}")
    return 0 if not lines else 1


if __name__ == "__main__":
    sys.exit(main())
