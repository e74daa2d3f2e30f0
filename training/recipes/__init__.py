"""Recipes: ways of making a model other than standard training (paper section 5).

A recipe either changes what the training loop (training.loop) trains on, or works on a finished
run afterwards:

- `variants`: picks the recipe of a training run from its settings (`extraction.victim`,
  `unlearning.exclude_forget`, `unlearning.record`) and gives the loop its data, targets, loss
  and extra evaluations; with every switch off, training is exactly standard training.
- `extraction` (section 5.2): train on a victim model's answers instead of the true labels.
- `amnesiac` (section 5.3): record the updates of forget batches while training, and subtract them.
- `unlearning` (section 5.3): amnesiac unlearning of a finished run (`experiments.unlearn`) and
  the accuracies that judge it; exact unlearning is a training run without the forget set.
"""
