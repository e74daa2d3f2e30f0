"""Compare two checkpoints with Zest: distance, relative distance and a verdict.

    python -m experiments.compare dataset=cifar10 data_root=../shared/data \
        compare.a=models/.../seed0/epoch200.safetensors compare.b=suspect.safetensors \
        'compare.independent=[models/.../seed1/epoch200.safetensors,models/.../seed2/epoch200.safetensors]'

The reference set is `reference_path` when given, else it is built from the dataset with the
`reference.*` settings. The independent models define "unrelated": the null distribution is the
distances between a and each independent model and between every two independent models.

Before any work, every checkpoint's header is read and the models are checked to fit together:
the reference's kind of input, and one dataset and class count for all of them unless
`compare.across_label_spaces=true` (then class alignment matches the classes, and the output says
so and which models calibrate the relative distance).
"""

from __future__ import annotations

from itertools import combinations

from omegaconf import DictConfig

import zest
from experiments import config  # noqa: F401  (registers zest_schema)
from experiments.checks import (
    Task,
    check_settings,
    check_tasks,
    dataset_task,
    input_file,
    model_task,
    reference_task,
)
from experiments.common import checkpoint_signature, load_data, make_reference
from training.app import hydra_app
from training.errors import SettingsError
from training.runtime import pick_device, set_threads


def _models(cfg: DictConfig) -> dict[str, tuple[str, Task]]:
    """label -> (checkpoint path, task) of a, b and the independents, all read first."""
    c = cfg.compare
    paths = {"a": input_file(c.a, "compare.a"), "b": input_file(c.b, "compare.b")}
    for i, path in enumerate(c.independent, 1):
        paths[f"independent {i}"] = input_file(path, "compare.independent")
    return {f"{key} = {path}": (str(path), model_task(path)) for key, path in paths.items()}


def compare(cfg: DictConfig) -> dict:
    """Signatures of a, b and the independent models on one reference, then the verdict."""
    c = cfg.compare
    check_settings(cfg)
    models = _models(cfg)
    align = None if cfg.distance.align == "none" else cfg.distance.align
    if align is None and len({t.num_classes for _, t in models.values()}) > 1:
        raise SettingsError("the models have different class counts: set distance.align=greedy")
    if cfg.reference_path:
        reference = zest.Reference.load(input_file(cfg.reference_path, "reference_path"))
        ref_task = reference_task(reference)
    else:
        reference, ref_task = None, dataset_task(cfg.dataset.name)
    tasks = {label: task for label, (_, task) in models.items()}
    notes = check_tasks(
        ref_task,
        tasks,
        across_label_spaces=c.across_label_spaces,
        option="compare.across_label_spaces",
    )
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    if reference is None:
        reference = make_reference(load_data(cfg), cfg)
    for line in notes:
        print(line)

    def signature(path: str) -> zest.Signature:
        return checkpoint_signature(path, reference, cfg, device)

    sig_a, sig_b = signature(c.a), signature(c.b)
    result = {"distance": zest.distance(sig_a, sig_b, metric=c.metric, align=align)}
    print(
        f"Zest {c.metric} distance between\n  a = {c.a}\n  b = {c.b}\n: {result['distance']:.6g}"
    )
    if c.independent:
        others = [signature(p) for p in c.independent]
        pairs = [(sig_a, o) for o in others] + list(combinations(others, 2))
        v = zest.verdict(
            sig_a, sig_b, pairs, metric=c.metric, align=align, n_bootstrap=c.n_bootstrap
        )
        result["verdict"] = v
        print(f"against {len(pairs)} independent pairs: {v}")
        if notes:
            print(
                "the relative distance is calibrated by a and the independent models: "
                + ", ".join(
                    str(tasks[label]) for label in tasks if label.startswith(("a ", "ind"))
                )
            )
    else:
        print("(give compare.independent=[...] checkpoints for a relative distance and a verdict)")
    return result


main = hydra_app(compare, "zest")


if __name__ == "__main__":
    main()
