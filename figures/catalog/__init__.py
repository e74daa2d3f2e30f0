"""The outputs of the paper, one module per group: each defines ``OUTPUTS = [Output(...), ...]``
beside its renderers (``figures.spec`` collects them; the caption of an output is
``figures/captions/<name>.rst``).

Section 4: ``epochs`` (Figures 2, 4, 7, 8), ``refsize`` (Figure 3), ``accuracy``, ``headline``,
``agreement`` (tables). Section 5: ``extraction`` (Figures 5, 9 and their table), ``unlearning``
(Figures 6, 10), ``unlearning_table``, ``verdicts``. The ModelReuse benchmark (Tables 1 and 5):
``modelreuse`` (Table 1), ``modelreuse_table5``, ``modelreuse_rules`` (both decision rules, ROC AUC,
TPR at 5 % FPR) and ``modelreuse_figure`` (positives against negatives per task).
"""
