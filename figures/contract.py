"""The figures' side of the result tables' contract: the columns they read, per (study, table).

The studies declare the columns they write (``experiments.studies.STUDIES[study].tables``);
``figures`` imports no study (the studies import torch), so the columns its outputs rely on are
declared on this side, by the consumer: each module of ``figures.catalog`` that reads a study's
tables declares ``COLUMNS = {(study, table): (column, ...)}``, every column some module of
``figures`` reads, in the study's order (one module per table: the study's own figure module, so a
new study adds its entry there and touches no shared file). ``declared()`` collects them;
``figures.load.read_table`` refuses a file without one of them; tests/test_figures_contract.py
checks that each list is part of what its study writes and that every ``Read`` has one.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil


@functools.cache
def declared() -> dict[tuple[str, str], tuple[str, ...]]:
    """(study, table) -> the columns the figures read, from every catalog module's `COLUMNS`."""
    import figures.catalog as package

    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for key, columns in getattr(module, "COLUMNS", {}).items():
            if key in found:
                raise AssertionError(f"figures.catalog.{info.name}: {key} is declared twice")
            found[key] = tuple(columns)
    return found
