"""The ground floor: what every other package of the project may import, and what it imports
nothing of the project itself (docs/architecture.md, "Layers"; tests/test_layers.py).

- `errors`: the project's own errors (`UserError` and its kinds): "what you gave cannot work".
- `files`: the one atomic writer of files (checkpoints, records, tables, figures).
- `datasets`: the registry of datasets (name, label, domain, classes, loader, the paper's setup).
- `app`: the shell every Hydra app runs in (one error line and exit 2; no litter).
- `runtime`: device, CPU threads, seeds and provenance of a run (imports torch).

Nothing here is imported by this file: `figures/` reads `core.errors`, `core.files` and
`core.datasets` without loading torch.
"""
