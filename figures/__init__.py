"""Figures and tables of sections 4 and 5 of the paper, rendered from the pipeline's result tables.

``python -m figures.render NAME --out STEM [--ROLE FILE ...]... [--OPTION VALUE]...`` (see
``figures.render``), or ``figures.render.render(name, {role: paths}, out, **options)``.

- ``spec``: one spec per output (``OUTPUTS``: what it reads, its options, its renderer), read
  by the Snakemake rules and the command line alike; ``OPTIONS``: every option.
- ``catalog/``: one module per group of outputs, each with its ``OUTPUTS`` and renderers.
- Shared: ``load`` (the result tables and metrics.json, ``columns(study, table)``), ``contract``
  (the columns the outputs read, per table), ``stats`` (aggregation over seeds), ``suspects``
  (section-5 aggregation), ``panels`` and ``style`` (figures), ``tabulate`` (tables),
  ``paper_values`` (the paper's numbers).
- ``captions/``: one reStructuredText caption per output, for the Snakemake report.

Figures decide nothing: normalization (``relative``, ``closer_percent``), the ``broken`` flag and
the verdicts (``related``, ``ci_excludes_1``) are columns of the result tables; figures aggregate
them for display. Datasets, their labels and the paper's classifiers come from
``core.datasets``: the package imports nothing else of the project (no study, no ``zest``, no
torch).
"""
