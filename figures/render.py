"""Render one figure or table of the paper from the pipeline's result tables.

Usage::

    python -m figures.render NAME --out STEM [--ROLE FILE ...]... [--OPTION VALUE]...
    python -m figures.render --list          # the outputs, what each reads and its options
    python -m figures.render NAME --help     # one output's roles and options

Each output's parser is built from its spec (``figures.spec.OUTPUTS``): it takes exactly that
output's roles (``--epochs a.tsv b.tsv``; a role may get no file) and options; anything else is a
usage error (status 2). Figures are written as ``STEM.pdf`` and ``STEM.png``, tables as
``STEM.csv``, ``STEM.md`` and ``STEM.tex``. A missing or empty input file is drawn as "no data at
this scale"; an unreadable one, one cut short, one with a cell its column cannot hold (a NaN, a
negative distance, text in a number column: ``figures.contract.RULES``) or a table of another kind
is one line ``figures.render: error: FILE[, row N, column 'C']: ...`` and status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.errors import UserError
from figures.spec import OPTIONS, Output, discover

PROG = "python -m figures.render"


def render(name: str, inputs: Mapping[str, Sequence], out, **options) -> list[Path]:
    """Render output ``name`` from ``inputs`` ({role: paths}) to ``out`` (suffix optional);
    returns the files written. Roles left out get no files.

    Raises:
        KeyError: no such output.
        TypeError: a role or option the output does not take.
    """
    outputs = discover()
    if name not in outputs:
        raise KeyError(f"unknown figure/table {name!r}; one of {list(outputs)}")
    spec = outputs[name]
    wrong = [f"role {r!r}" for r in inputs if r not in spec.reads]
    wrong += [f"option {o!r}" for o in options if o not in spec.options]
    if wrong:
        raise TypeError(f"{name} takes no {', '.join(wrong)}")
    paths = {role: [Path(p) for p in inputs.get(role, ())] for role in spec.reads}
    return spec.render(paths, spec.stem(out), **options)


def describe(read) -> str:
    """What a role reads, in words: ``distances/{dataset}/{refset}/epochs.tsv of cifar10, ...``."""
    of = f" of {', '.join(read.datasets)}" if read.datasets else ""
    if read.study == "runs":
        return f"models/{{dataset}}/{{arch}}/standard/seed{{s}}/metrics.json{of}"
    return f"{read.table}/{{dataset}}/{{refset}}/{read.study}.tsv{of}"


def listing() -> str:
    """Every output: its name, kind, files, what each role reads and the options it takes."""
    lines = []
    for spec in discover().values():
        lines.append(f"{spec.name} ({spec.kind}: {', '.join(spec.suffixes)}): {spec.summary}")
        lines += [f"    --{role} FILE ...  {describe(read)}" for role, read in spec.reads.items()]
        if spec.options:
            lines.append("    options: " + " ".join(f"--{key}" for key in spec.options))
    return "\n".join(lines)


def _output_parser(subparsers, spec: Output) -> None:
    roles = ", ".join(f"--{role}" for role in spec.reads)
    summary = spec.summary.replace("%", "%%")  # argparse formats a help text with %
    p = subparsers.add_parser(spec.name, help=f"{summary} [{roles}]", description=spec.summary)
    p.add_argument("--out", required=True, metavar="STEM",
                   help=f"output path; {', '.join(spec.suffixes)} are added")  # fmt: skip
    for role, read in spec.reads.items():
        p.add_argument(f"--{role}", dest=f"read_{role}", nargs="*", action="extend", default=[],
                       metavar="FILE", help=describe(read))  # fmt: skip
    for key in spec.options:
        option = OPTIONS[key]
        if option.parse is None:
            p.add_argument(f"--{key}", dest=f"option_{key}", help=option.help, default=None,
                           action=argparse.BooleanOptionalAction)  # fmt: skip
        else:
            p.add_argument(f"--{key}", dest=f"option_{key}", help=option.help, default=None,
                           type=option.parse, choices=option.choices, metavar=key.upper())  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the outputs and their inputs")
    subparsers = parser.add_subparsers(dest="name", metavar="NAME", title="outputs")
    for spec in discover().values():
        _output_parser(subparsers, spec)
    return parser


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="figures: %(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print(listing())
        return 0
    if args.name is None:
        parser.error("name a figure or table (--list shows them)")
    spec = discover()[args.name]
    inputs = {role: getattr(args, f"read_{role}") for role in spec.reads}
    given = {key: getattr(args, f"option_{key}") for key in spec.options}
    try:
        written = render(args.name, inputs, args.out, **{k: v for k, v in given.items()
                                                          if v is not None})  # fmt: skip
    except UserError as err:  # an unreadable, cut, edited or foreign table: one line, status 2
        print(f"figures.render: error: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
