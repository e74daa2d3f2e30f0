"""The outputs of the paper, one module per group: each defines ``OUTPUTS = [Output(...), ...]``
beside its renderers (``figures.spec`` collects them; the caption of an output is
``figures/captions/<name>.rst``).

Section 4: ``epochs`` (Figures 2, 4, 7, 8), ``refsize`` (Figure 3), ``accuracy``, ``headline``,
``agreement`` (tables). Section 5: ``extraction`` (Figures 5, 9 and their table), ``unlearning``
(Figures 6, 10), ``unlearning_table``, ``verdicts``.
"""
