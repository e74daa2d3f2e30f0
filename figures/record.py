"""The tables and figures of one pipeline run, gathered for a reproduction record.

Usage::

    python -m figures.record RESULTS DOCS_FOLDER [--width 720]

RESULTS is a run's ``results/<scale>`` folder. Every ``tables/*.md`` is printed verbatim under a
heading (in the order of ``ORDER``, then the rest by name), and every ``figures/*.png`` is copied
into ``DOCS_FOLDER/<scale>/``, shrunk to at most ``--width`` pixels wide, with a Markdown link
relative to ``DOCS_FOLDER``. The numbers go with them (``DATA``: the tables as CSV, the studies'
TSV tables, the run's ``plan.yaml`` and ``provenance.json``, at their paths under
``DOCS_FOLDER/<scale>/``), so that a reader can recompute every number of the record and see which
commit, configurations, data and machines made it. The Markdown goes to standard output; the
record's prose (what each claim of the paper became) is written by hand around it
(``docs/reproduction/``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

# Section 4, section 5, then the ModelReuse benchmark: the order of the paper.
ORDER = (
    "table_accuracy", "table_headline", "table_agreement", "table_boundary", "table_extraction",
    "table_unlearning", "table_verdicts", "table1_modelreuse", "table5_modelreuse",
    "table_modelreuse_rules",
)  # fmt: skip
FIGURE_ORDER = (
    "fig2_epochs_vision", "fig3_refsize", "fig4_epochs_text_audio", "fig7_k", "fig8_metrics",
    "fig5_extraction", "fig9_extraction_metrics", "fig6_unlearning", "fig10_unlearning_metrics",
    "fig_modelreuse_distances",
)  # fmt: skip


# What a record keeps of a run besides the Markdown and the figures: every number, as data
DATA = ("plan.yaml", "provenance.json", "tables/*.csv", "distances/**/*.tsv",
        "verdicts/**/*.tsv", "detection/**/*.tsv")  # fmt: skip


def copy_data(results: Path, target: Path) -> list[Path]:
    """Copy the run's `DATA` files to `target`, at their paths under `results`."""
    copied = []
    for pattern in DATA:
        for source in sorted(results.glob(pattern)):
            dest = target / source.relative_to(results)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            copied.append(dest)
    return copied


def ordered(paths: list[Path], order: tuple[str, ...]) -> list[Path]:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(paths, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def shrink(source: Path, target: Path, width: int) -> None:
    """Copy a PNG, resized to at most `width` pixels wide (aspect kept), in 256 colours (plots
    lose nothing visible; the file shrinks about fivefold)."""
    from PIL import Image  # noqa: PLC0415  (pillow comes with matplotlib)

    with Image.open(source) as image:
        if image.width > width:
            height = round(image.height * width / image.width)
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        target.parent.mkdir(parents=True, exist_ok=True)
        image.convert("RGB").quantize(256).save(target, optimize=True)


def record(results: Path, docs: Path, width: int = 720) -> str:
    """The Markdown of every table and figure of `results` (copying the figures into `docs`)."""
    scale = results.name
    data = copy_data(results, docs / scale)
    parts = ["## Tables", ""]
    if data:
        kept = sorted({str(p.relative_to(docs / scale).parts[0]) for p in data})
        parts += [f"The numbers of every table, as data: `{scale}/` ({len(data)} files: "
                  f"{', '.join(f'`{k}`' for k in kept)}).", ""]  # fmt: skip
    for table in ordered(list((results / "tables").glob("*.md")), ORDER):
        parts += [f"### {table.stem}", "", table.read_text().strip(), ""]
    parts += ["## Figures", ""]
    for figure in ordered(list((results / "figures").glob("*.png")), FIGURE_ORDER):
        target = docs / scale / figure.name
        shrink(figure, target, width)
        parts += [f"### {figure.stem}", "", f"![{figure.stem}]({scale}/{figure.name})", ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures.record", description=__doc__)
    parser.add_argument("results", type=Path, help="a run's results/<scale> folder")
    parser.add_argument("docs", type=Path, help="the record's folder, e.g. docs/reproduction")
    parser.add_argument("--width", type=int, default=720, help="largest figure width in pixels")
    args = parser.parse_args(argv)
    if not (args.results / "tables").is_dir():
        parser.error(f"{args.results} has no tables/ folder: not a run's results/<scale>")
    sys.stdout.write(record(args.results, args.docs, args.width) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
