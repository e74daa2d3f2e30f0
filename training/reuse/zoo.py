"""The ModelReuse zoo: which models the benchmark has, its positive pairs, and what each needs.

Pure enumeration over a `Zoo` (the settings of spec §2.2): `list_models` gives the benchmark's
models in `ImageBenchmark.list_models` order (138 at paper scale), `positive_pairs` the 144
(source, suspect) pairs of Table 1, and the helpers below say which models each detector compares
(ModelDiff's references, Zest's same-task negatives) and which models must therefore be built.
Quantized models are never built: they are re-made from their float parent when loaded.
The settings themselves (`Zoo`, `problems`, `check`) live in `training.reuse.zoo_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import SettingsError
from training.reuse.chain import Chain, Op
from training.reuse.zoo_settings import Zoo, check, problems

__all__ = [
    "REFS",
    "SUBTASKS",
    "TASKS",
    "Pair",
    "Zoo",
    "check",
    "generator_of",
    "list_models",
    "modeldiff_jobs",
    "modeldiff_references",
    "models_to_build",
    "positive_pairs",
    "problems",
    "retrained",
    "same_task_negatives",
    "subtasks",
    "zest_signatures",
]

TASKS = (
    "Transfer",
    "Prune",
    "Quantization",
    "Distillation",
    "Model extraction",
    "Transfer + prune",
    "Transfer + quantize",
    "Transfer + distill",
)
REFS = ("all", "same_dataset")


@dataclass(frozen=True)
class Pair:
    """A positive pair of Table 1: `suspect` was made from `source` (its parent or its root)."""

    task: str
    subtask: str
    source: Chain
    suspect: Chain


def _root(name: str, arch: str, dataset: str) -> Chain:
    return Chain((Op(name, (arch, dataset)),))


def _roots(zoo: Zoo) -> list[Chain]:
    return [_root("pretrain", a, zoo.source) for a in zoo.archs]


def retrained(dataset: str, zoo: Zoo) -> list[Chain]:
    """The models trained from scratch on `dataset`: train(a, dataset) for every arch."""
    return [_root("train", a, dataset) for a in zoo.archs]


def _transfers(zoo: Zoo) -> list[Chain]:
    return [
        root.then("transfer", d, r)
        for root in _roots(zoo)
        for d in zoo.datasets
        for r in zoo.tune_ratios
    ]


def _steals(model: Chain, zoo: Zoo) -> list[Chain]:
    return [model.then("steal", a) for a in zoo.archs if zoo.homo_steal or a != model.arch]


def list_models(zoo: Zoo) -> list[Chain]:
    """Every model of the benchmark, in `ImageBenchmark.list_models` order (spec §2.2)."""
    check(zoo)
    trains = [_root("train", a, d) for a in zoo.archs for d in zoo.datasets]
    transfers = _transfers(zoo)
    models = [*_roots(zoo), *trains, *transfers]
    models += [t.then("quantize", q) for t in transfers for q in zoo.quant_dtypes]
    models += [t.then("prune", p) for t in transfers for p in zoo.prune_ratios]
    models += [t.then("distill") for t in transfers]
    models += [s for t in transfers for s in _steals(t, zoo)]
    if zoo.retrain_variants:
        models += [m.then("prune", p) for m in trains for p in zoo.prune_ratios]
        models += [m.then("distill") for m in trains]
        models += [s for m in trains for s in _steals(m, zoo)]
    return models


def _pct(ratio: float) -> str:
    return format(100 * float(ratio), "g")


def subtasks(zoo: Zoo) -> list[str]:
    """Table 5's subtask rows, in order; the ratio rows are labelled from the zoo's ratios."""
    return [
        *(f"Transfer (tune {_pct(r)}%)" for r in zoo.tune_ratios),
        *(f"Prune {_pct(p)}%" for p in zoo.prune_ratios),
        "Quantize",
        "Distill",
        "Steal",
        *(f"Transfer + prune {_pct(p)}%" for p in zoo.prune_ratios),
        "Transfer + quantize",
        "Transfer + distill",
    ]


SUBTASKS = tuple(subtasks(Zoo()))  # the paper's 14 rows


def positive_pairs(zoo: Zoo) -> list[Pair]:
    """The positive pairs of spec §2.6 (144 at paper and mini scale), in Table 1 task order."""
    check(zoo)
    rows: dict[str, list[Pair]] = {task: [] for task in TASKS}
    for root in _roots(zoo):
        for d in zoo.datasets:
            for r in zoo.tune_ratios:
                t = root.then("transfer", d, r)
                rows["Transfer"].append(Pair("Transfer", f"Transfer (tune {_pct(r)}%)", root, t))
                for p in zoo.prune_ratios:
                    c = t.then("prune", p)
                    rows["Prune"].append(Pair("Prune", f"Prune {_pct(p)}%", t, c))
                    sub = f"Transfer + prune {_pct(p)}%"
                    rows["Transfer + prune"].append(Pair("Transfer + prune", sub, root, c))
                q = t.then("quantize", "qint8")
                rows["Quantization"].append(Pair("Quantization", "Quantize", t, q))
                rows["Transfer + quantize"].append(
                    Pair("Transfer + quantize", "Transfer + quantize", root, q)
                )
                s = t.then("distill")
                rows["Distillation"].append(Pair("Distillation", "Distill", t, s))
                rows["Transfer + distill"].append(
                    Pair("Transfer + distill", "Transfer + distill", root, s)
                )
                for a in zoo.archs:
                    if a != t.arch:
                        steal = t.then("steal", a)
                        rows["Model extraction"].append(
                            Pair("Model extraction", "Steal", t, steal)
                        )
    return [pair for task in TASKS for pair in rows[task]]


def modeldiff_references(suspect: Chain, models: list[Chain], refs: str = "all") -> list[Chain]:
    """ModelDiff's reference models for `suspect` (`get_comparable_models`), in `models` order.

    Every non-quantized model not descended from the suspect's root; `same_dataset` keeps only
    those on the suspect's label space (the mini default, for time).
    """
    if refs not in REFS:
        raise SettingsError(f"refs must be one of {', '.join(REFS)}, not {refs!r}")
    root = suspect.root
    return [
        m
        for m in models
        if not m.startswith(root)
        and not m.is_quantized
        and (refs == "all" or m.dataset == suspect.dataset)
    ]


def same_task_negatives(suspect: Chain, models: list[Chain]) -> list[Chain]:
    """Neg_D(C) of spec §5.3: non-quantized models on the suspect's dataset with another root."""
    return modeldiff_references(suspect, models, "same_dataset")


def generator_of(suspect: Chain) -> Chain:
    """The model ModelDiff attacks to make the suspect's inputs: its float parent if quantized."""
    if suspect.is_quantized:
        assert suspect.parent is not None  # a quantize op is never a root
        return suspect.parent
    return suspect


def _unique(chains: list[Chain]) -> list[Chain]:
    return list(dict.fromkeys(chains))


def zest_signatures(zoo: Zoo) -> dict[str, list[Chain]]:
    """Per target dataset D, every model that needs a Zest signature on D's reference set.

    The sources and suspects of the positives whose suspect is on D, those suspects' same-task
    negatives, and the retrained train(a, D) models; sorted by str, no duplicates.
    """
    models = list_models(zoo)
    pairs = positive_pairs(zoo)
    out = {}
    for d in zoo.datasets:
        need = set(retrained(d, zoo))
        for pair in pairs:
            if pair.suspect.dataset == d:
                need |= {pair.source, pair.suspect, *same_task_negatives(pair.suspect, models)}
        out[d] = sorted(need, key=str)
    return out


def modeldiff_jobs(zoo: Zoo, refs: str = "all") -> dict[Chain, list[Chain]]:
    """Per distinct suspect (pair order), the models whose DDV on its inputs ModelDiff needs.

    Its positive sources (parent and/or root, pair order), then its references; the suspect's own
    DDV is implied. The inputs are generated on `generator_of(suspect)`.
    """
    models = list_models(zoo)
    sources: dict[Chain, list[Chain]] = {}
    for pair in positive_pairs(zoo):
        sources.setdefault(pair.suspect, []).append(pair.source)
    return {
        suspect: _unique([*srcs, *modeldiff_references(suspect, models, refs)])
        for suspect, srcs in sources.items()
    }


def models_to_build(zoo: Zoo, refs: str = "all") -> list[Chain]:
    """Every float model the detectors need, with all their ancestors, parents before children."""
    need: set[Chain] = set()
    for chains in zest_signatures(zoo).values():
        need.update(chains)
    for suspect, others in modeldiff_jobs(zoo, refs).items():
        need.update([suspect, generator_of(suspect), *others])
    for chain in list(need):
        need.update(chain.ancestors)
    need = {c for c in need if not c.is_quantized}
    order = {c: i for i, c in enumerate(list_models(zoo))}
    # list_models order is topological; depth first keeps that true for anything outside it.
    return sorted(need, key=lambda c: (c not in order, order.get(c, 0), len(c), str(c)))
