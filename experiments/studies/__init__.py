"""The studies of the paper, one module each, collected in `STUDIES` (name -> `Study`).

A module of this package that defines `STUDY` is a study; adding one means adding its module
(docs/architecture.md, "Adding a study"). `base` says what a study is made of, `layout` where
the pipeline keeps what studies read and write, `files` how the app loads it.
"""

from __future__ import annotations

import importlib
import pkgutil

from experiments.studies.base import Context, Metrics, Predictions, Signature, Study

__all__ = ["STUDIES", "Context", "Metrics", "Predictions", "Signature", "Study"]


def _collect() -> dict[str, Study]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        study = getattr(importlib.import_module(f"{__name__}.{info.name}"), "STUDY", None)
        if isinstance(study, Study):
            found[study.name] = study
    return found


STUDIES: dict[str, Study] = _collect()
