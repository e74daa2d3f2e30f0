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

import hashlib
from itertools import combinations

from omegaconf import DictConfig

import zest
from core.app import hydra_app
from core.errors import SettingsError
from core.runtime import pick_device, set_threads
from experiments import config  # noqa: F401  (registers compare_schema)
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


def _models(cfg: DictConfig) -> dict[str, tuple[str, Task]]:
    """label -> (checkpoint path, task) of a, b and the independents, all read first.

    Raises:
        SettingsError: an independent model is the same file as a or as another independent
            (the null distribution needs independently trained models).
    """
    c = cfg.compare
    paths = {"a": input_file(c.a, "compare.a"), "b": input_file(c.b, "compare.b")}
    for i, path in enumerate(c.independent, 1):
        paths[f"independent {i}"] = input_file(path, "compare.independent")
    seen: dict[str, str] = {}
    for key, path in paths.items():
        if key == "b":  # the suspect may be anything, a itself included (a control)
            continue
        digest = _sha256(path)
        if digest in seen:
            raise SettingsError(
                f"{key} ({path}) is the same model as {seen[digest]}: the independent models "
                "must be trained independently of a and of each other (other seeds)"
            )
        seen[digest] = key
    return {f"{key} = {path}": (str(path), model_task(path)) for key, path in paths.items()}


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _calibration(tasks: dict[str, Task]) -> list[str]:
    """What calibrates the relative distance across label spaces, and a caution when none of
    it shares b's label space."""
    calibrating = {label: t for label, t in tasks.items() if not label.startswith("b ")}
    lines = ["the relative distance is calibrated by the pairs among a and the independents:"]
    lines += [f"  {label}: {task}" for label, task in calibrating.items()]
    b_task = next(t for label, t in tasks.items() if label.startswith("b "))
    independents = [t for label, t in calibrating.items() if label.startswith("independent")]
    if all(
        (t.dataset, t.num_classes) != (b_task.dataset, b_task.num_classes) for t in independents
    ):
        lines.append(
            "  caution: no independent model shares b's label space; class alignment picks b's "
            "best-matching classes, which lowers b's distance against pairs of one label space. "
            "Calibrate with independent models of b's dataset for a fair relative distance."
        )
    return lines


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
            print("\n".join(_calibration(tasks)))
    else:
        print("(give compare.independent=[...] checkpoints for a relative distance and a verdict)")
    return result


main = hydra_app(compare, "compare")


if __name__ == "__main__":
    main()
