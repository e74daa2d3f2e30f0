"""Figures and tables of sections 4 and 5 of the paper, rendered from the pipeline's result tables.

``python -m figures.render NAME --out PATH [--k K] INPUTS...`` (see ``figures.render``), or
``figures.render.render(name, inputs, out, **opts)``. Modules: ``paper_values`` (the paper's
numbers), ``load`` (reading tables, atomic writes), ``stats`` (aggregation, headline), ``style``
(look and saving), ``curves`` (Figures 2, 3, 4, 7, 8), ``tables`` and ``tabulate`` (tables);
section 5: ``suspects`` (extraction/unlearning/verdict tables, accuracies of suspect models),
``case_studies`` (Figures 5, 6, 9, 10), ``case_tables`` (extraction, unlearning), ``verdict_table``;
``captions/`` (one reStructuredText caption per output, for the Snakemake report).
"""
