"""Figures and tables of section 4 of the paper, rendered from the pipeline's result tables.

``python -m figures.render NAME --out PATH [--k K] INPUTS...`` (see ``figures.render``), or
``figures.render.render(name, inputs, out, **opts)``. Modules: ``paper_values`` (the paper's
numbers), ``load`` (reading tables, atomic writes), ``stats`` (aggregation, headline), ``style``
(look and saving), ``curves`` (Figures 2, 3, 4, 7, 8), ``tables`` and ``tabulate`` (tables),
``captions/`` (one reStructuredText caption per output, for the Snakemake report).
"""
