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
so and which models calibrate the relative distance, before the verdict, whose line says it too).

The independent models must also be independent of a, b and each other, or the null distribution
is that of related models: an independent model is refused when it is the same file as one of
them, another checkpoint of the same run (the run's identity in its record, `metrics.json` beside
the checkpoint), of the same seed and recipe (the seed in the header, the recipe in the record),
made from one of them, or what a or another independent is made from (the parents a record names:
the training app's `parents`, an extraction's victim by its sha256, the unlearning app's
`model_dir`; the source an unlearned model's header names; a ModelReuse model's chain). A header
holds the seed but not the run, recipe or parents: where the seed or the record is missing (an
older or foreign file, a checkpoint copied out of its run folder), a warning says what could not
be checked, and the same seed on the same architecture and dataset is refused unless the records
tell the recipes apart.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

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
from training.checkpoint import read_meta
from training.rundir import METRICS

log = logging.getLogger(__name__)
_INDEPENDENT = (
    "the independent models must be trained independently of a, b and each other (other seeds, "
    "other runs)"
)


def _models(cfg: DictConfig) -> dict[str, tuple[str, Task]]:
    """label -> (checkpoint path, task) of a, b and the independents, all read first.

    Raises:
        SettingsError: an independent model is not independent of a, b or another independent
            (`_check_independent`).
    """
    c = cfg.compare
    paths = {"a": input_file(c.a, "compare.a"), "b": input_file(c.b, "compare.b")}
    for i, path in enumerate(c.independent, 1):
        paths[f"independent {i}"] = input_file(path, "compare.independent")
    if c.independent:
        _check_independent(paths)
    return {f"{key} = {path}": (str(path), model_task(path)) for key, path in paths.items()}


@dataclass(frozen=True)
class Lineage:
    """Where a checkpoint comes from: its header holds its seed (and a ModelReuse model's chain),
    the record of its run (`metrics.json` beside it) the run's identity, recipe and parents."""

    digest: str
    seed: int | None
    trained: tuple[str, str | None]  # (arch, dataset): what the seed initialised and trained
    recipe: str | None  # None: no record says
    run: str | None  # the run's identity; None: no record
    names: frozenset[str]  # this model: its bytes, its file, its run's folder, its chain
    origins: frozenset[str]  # the names of the models it is made from


def _lineage(path: Path) -> Lineage:
    meta, record = read_meta(path), _record(path.parent) or {}
    settings, unlearning = record.get("config"), meta.get("unlearning")
    digest, recipe, run, origins = _sha256(path), None, None, set()
    names = {f"sha256:{digest}", f"path:{path.resolve()}"}
    parents = [unlearning.get("source")] if isinstance(unlearning, dict) else []
    chain = meta.get("chain")
    if isinstance(chain, str):  # a ModelReuse model: its chain names it and its ancestors
        run, recipe = f"chain {chain}, seed {meta.get('seed')}", f"chain {chain}"
        ops = chain.split("->")
        names.add(f"chain:{chain}")
        origins |= {"chain:" + "->".join(ops[:n]) for n in range(1, len(ops))}
    elif isinstance(settings, dict):  # a training or unlearning run's record
        run, recipe = json.dumps(settings, sort_keys=True), _recipe(settings.get("recipe"))
        names.add(f"path:{path.parent.resolve()}")
        roles = settings.get("parents")
        parents += [
            *(roles.values() if isinstance(roles, dict) else ()),
            settings.get("model_dir"),
        ]
        victim = record.get("victim")  # an extraction's victim, by its bytes
        if isinstance(victim, dict) and isinstance(victim.get("sha256"), str):
            origins.add(f"sha256:{victim['sha256']}")
    for parent in (Path(p).resolve() for p in parents if isinstance(p, str)):
        origins.add(f"path:{parent}")
        if parent.suffix == ".safetensors":  # any checkpoint of the parent's run
            origins.add(f"path:{parent.parent}")
    if unlearning is not None:  # the unlearning app's: the original's header (and seed)
        recipe = "unlearn_amnesiac"
    trained = (meta["arch"], meta.get("dataset"))
    return Lineage(digest, meta.get("seed"), trained, recipe, run, frozenset(names),
                   frozenset(origins))  # fmt: skip


def _record(folder: Path) -> dict | None:
    """The run record in a checkpoint's folder, None when there is none (or not a readable one)."""
    try:
        record = json.loads((folder / METRICS).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _recipe(settings) -> str:
    """A run's recipe as its record names it (a standard run's record names none)."""
    if not isinstance(settings, dict):
        return "standard"
    fields = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()) if k != "name")
    return f"{settings.get('name')}({fields})"


def _shared(x: Lineage, y: Lineage, other: str, *, parent: bool = True) -> str | None:
    """How the model of lineage x is not independent of `other` (lineage y), or None; with
    `parent` False, x may be what y is made from (b: the null distribution's pairs hold no b)."""
    if x.digest == y.digest:
        return f"is the same model as {other}"
    if x.run is not None and x.run == y.run:
        return f"is another checkpoint of the run of {other}, as their run records say"
    if x.origins & y.names:
        return f"is made from {other}, as its run record or chain says"
    if parent and y.origins & x.names:
        return f"is a parent of {other}, as the latter's run record or chain says"
    if x.seed is None or x.seed != y.seed or x.trained != y.trained:
        return None
    what = f"{x.trained[0]} on {x.trained[1]}"
    if x.recipe is not None and y.recipe is not None:
        if x.recipe != y.recipe:
            return None
        return f"shares seed {x.seed} and recipe {x.recipe} with {other} ({what})"
    return (
        f"shares seed {x.seed} with {other} ({what}), and no run record ({METRICS}) beside them "
        "tells their recipes apart"
    )


def _check_independent(paths: dict[str, Path]) -> None:
    """Refuse an independent model related to a, b or an earlier independent (one line naming
    both files); warn about what a checkpoint does not record."""
    lineages = {key: _lineage(path) for key, path in paths.items()}
    for key, lineage in lineages.items():
        missing = []
        if lineage.seed is None:
            missing.append("its header records no seed (an older or foreign file)")
        if lineage.run is None:
            missing.append(f"no run record ({METRICS}) beside it names its run and parents")
        if missing:
            log.warning(
                "warning: cannot check that %s (%s) shares no seed, run or parent with the other "
                "models: %s", key, paths[key], "; ".join(missing),
            )  # fmt: skip
    keys = list(paths)
    for i, key in enumerate(keys):
        for other in keys[:i] if key.startswith("independent") else ():
            label = f"{other} ({paths[other]})"
            how = _shared(lineages[key], lineages[other], label, parent=other != "b")
            if how:
                raise SettingsError(f"{key} ({paths[key]}) {how}: {_INDEPENDENT}")


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _calibration(tasks: dict[str, Task]) -> tuple[list[str], str]:
    """What calibrates the relative distance across label spaces (a caution when no independent
    model shares b's label space), and what the verdict line adds about it."""
    calibrating = {label: t for label, t in tasks.items() if not label.startswith("b ")}
    lines = ["the relative distance is calibrated by the pairs among a and the independents:"]
    lines += [f"  {label}: {task}" for label, task in calibrating.items()]
    b_task = next(t for label, t in tasks.items() if label.startswith("b "))
    independents = [t for label, t in calibrating.items() if label.startswith("independent")]
    spaces = {(t.dataset, t.num_classes) for t in independents}
    if (b_task.dataset, b_task.num_classes) not in spaces:
        lines.append(
            "  caution: no independent model shares b's label space; class alignment picks b's "
            "best-matching classes, which lowers b's distance against pairs of one label space. "
            "Calibrate with independent models of b's dataset for a fair relative distance."
        )
        others = ", ".join(sorted({str(t) for t in independents}))
        return lines, (
            f" (calibrated by independent models of another label space than the suspect's, "
            f"{others}: class alignment, read with care)"
        )
    of = "the suspect's label space" + (" and of others" if len(spaces) > 1 else "")
    care = ", read with care" if len(spaces) > 1 else ""
    return lines, f" (calibrated by independent models of {of}: class alignment{care})"


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
    qualifier = ""  # what the verdict line says of its calibration across label spaces
    if notes and c.independent:
        calibration, qualifier = _calibration(tasks)
        notes = [*notes, *calibration]
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
        print(f"against {len(pairs)} independent pairs: {v}{qualifier}")
    else:
        print("(give compare.independent=[...] checkpoints for a relative distance and a verdict)")
    return result


main = hydra_app(compare, "compare")


if __name__ == "__main__":
    main()
