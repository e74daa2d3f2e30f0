"""Render one figure or table of sections 4 and 5 from the pipeline's result tables.

Usage::

    python -m figures.render NAME --out PATH_WITHOUT_SUFFIX [--k K] [options] INPUT [INPUT ...]

Figures are written as ``PATH.pdf`` and ``PATH.png``, tables as ``PATH.csv``, ``PATH.md`` and
``PATH.tex``. Inputs are ``epochs.tsv`` (fig2, fig4, fig7, fig8, table_headline), ``refsize.tsv``
(fig3), ``agreement.tsv`` (table_agreement) or ``metrics.json`` files (table_accuracy);
section 5: ``extraction.tsv`` (fig5, fig9, table_extraction), ``unlearning.tsv`` and, optionally,
the unlearned models' ``metrics.json`` files (fig6, fig10, table_unlearning), and
``verdicts/{dataset}/{refset}/{study}.tsv`` (table_verdicts). Datasets are read from the tables;
a dataset without a table is drawn as "no data at this scale".
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from figures.case_studies import (
    render_fig5_extraction,
    render_fig6_unlearning,
    render_fig9_extraction_metrics,
    render_fig10_unlearning_metrics,
)
from figures.case_tables import render_table_extraction, render_table_unlearning
from figures.curves import (
    render_fig2_epochs_vision,
    render_fig3_refsize,
    render_fig4_epochs_text_audio,
    render_fig7_k,
    render_fig8_metrics,
)
from figures.tables import render_table_accuracy, render_table_agreement, render_table_headline
from figures.verdict_table import render_table_verdicts
from training.errors import UserError

RENDERERS: dict[str, Callable[..., list[Path]]] = {
    "fig2_epochs_vision": render_fig2_epochs_vision,
    "fig3_refsize": render_fig3_refsize,
    "fig4_epochs_text_audio": render_fig4_epochs_text_audio,
    "fig7_k": render_fig7_k,
    "fig8_metrics": render_fig8_metrics,
    "fig5_extraction": render_fig5_extraction,
    "fig6_unlearning": render_fig6_unlearning,
    "fig9_extraction_metrics": render_fig9_extraction_metrics,
    "fig10_unlearning_metrics": render_fig10_unlearning_metrics,
    "table_accuracy": render_table_accuracy,
    "table_headline": render_table_headline,
    "table_agreement": render_table_agreement,
    "table_extraction": render_table_extraction,
    "table_unlearning": render_table_unlearning,
    "table_verdicts": render_table_verdicts,
}
# Options each renderer understands (the CLI passes only these, and only when given).
OPTIONS = {
    "fig2_epochs_vision": ("k", "metric", "datasets", "note", "logy"),
    "fig3_refsize": ("metric", "column", "datasets", "note"),
    "fig4_epochs_text_audio": ("k", "metric", "datasets", "note", "logy"),
    "fig7_k": ("metric", "datasets", "note", "logy"),
    "fig8_metrics": ("k", "metrics", "datasets", "note", "logy"),
    "fig5_extraction": ("metric", "datasets", "note"),
    "fig6_unlearning": ("metric", "datasets", "note"),
    "fig9_extraction_metrics": ("metrics", "datasets", "note"),
    "fig10_unlearning_metrics": ("metrics", "datasets", "note"),
    "table_accuracy": (),
    "table_headline": ("k", "metric"),
    "table_agreement": (),
    "table_extraction": ("metric",),
    "table_unlearning": ("metric",),
    "table_verdicts": (),
}


def render(name: str, inputs, out, **opts) -> list[Path]:
    """Render ``name`` from ``inputs`` to ``out`` (without suffix); returns the files written."""
    if name not in RENDERERS:
        raise KeyError(f"unknown figure/table {name!r}; one of {sorted(RENDERERS)}")
    return RENDERERS[name]([Path(p) for p in inputs], Path(out), **opts)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m figures.render",
        description=__doc__.split("\n\n")[0],
        epilog="Inputs: TSV result tables or metrics.json files (docs/architecture.md).",
    )
    p.add_argument("name", choices=sorted(RENDERERS), help="figure or table to render")
    p.add_argument("inputs", nargs="*", help="result tables / metrics.json files")
    p.add_argument("--out", required=True, help="output path without suffix")
    p.add_argument("--k", type=int, help="k of the related pairs (default: smallest k >= 5)")
    p.add_argument("--metric", help="distance metric (default: cosine)")
    p.add_argument(
        "--metrics", type=_names, help="fig8/fig9/fig10 rows, comma-separated (default: l1,l2)"
    )
    p.add_argument("--column", choices=("relative", "value"), help="fig3 y (default: relative)")
    p.add_argument(
        "--datasets", type=_names, help="panels, comma-separated, in order (default: the figure's)"
    )
    p.add_argument("--note", help="text appended to the figure title, e.g. 'N = 128, L = 1000'")
    p.add_argument("--logy", action=argparse.BooleanOptionalAction, default=None,
                   help="log y axis (default: on for fig7 only)")  # fmt: skip
    return p.parse_intermixed_args(argv)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="figures: %(levelname)s: %(message)s")
    args = parse_args(argv)
    given = {key: getattr(args, key) for key in OPTIONS[args.name]}
    opts = {key: value for key, value in given.items() if value is not None}
    ignored = [
        key for key in ("k", "metric", "metrics", "column", "datasets", "note", "logy")
        if getattr(args, key) is not None and key not in OPTIONS[args.name]
    ]  # fmt: skip
    if ignored:
        logging.getLogger("figures").warning("%s ignores %s", args.name, ignored)
    try:
        written = render(args.name, args.inputs, args.out, **opts)
    except UserError as err:  # an unreadable or foreign input table: one line, status 2
        print(f"figures.render: error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
