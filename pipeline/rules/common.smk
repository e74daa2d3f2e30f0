# Paths and helpers shared by the rule files. Paths describe identity (docs/architecture.md).
import os
import shlex


def hydra_args(*overrides):
    """Hydra overrides as one shell-safe string."""
    return " ".join(shlex.quote(str(o)) for o in overrides)


def as_list(values):
    """A Hydra list literal: [1,2,3]."""
    return "[{}]".format(",".join(str(v) for v in values))


REFSET = PLAN.spec.refset  # the reference set of section 4 (train-first: the authors' first N points)
REFSETS = "train-first|train-random"
DATA_SUMMARY = f"{MODELS}/data/{{dataset}}.json"
RUN = "{dataset}/{arch}/{recipe}/seed{seed}"  # one training run
MODEL_METRICS = f"{MODELS}/models/{RUN}/metrics.json"
REFERENCE = f"{ROOT}/reference/{{dataset}}/{{refset}}/reference.npz"
SIGNATURE = f"{ROOT}/signatures/{{dataset}}/{{refset}}/{{arch}}/{{recipe}}/seed{{seed}}/epoch{{epoch}}.npz"
PREDICTIONS = f"{ROOT}/predictions/{RUN}.npz"
DISTANCES = f"{ROOT}/distances/{{dataset}}/{{refset}}/{{study}}.tsv"
VERDICTS = f"{ROOT}/verdicts/{{dataset}}/{{refset}}/{{study}}.tsv"


def metrics_json(dataset, seed, recipe="standard"):
    return MODEL_METRICS.format(dataset=dataset, arch=PLAN.arch(dataset), recipe=recipe, seed=seed)


def signatures_of(dataset, refset=REFSET, recipe="standard"):
    """Every signature a dataset's studies read."""
    return [
        SIGNATURE.format(dataset=dataset, refset=refset, arch=PLAN.arch(dataset), recipe=recipe,
                         seed=seed, epoch=epoch)
        for seed in PLAN.spec.seeds
        for epoch in PLAN.save_epochs(dataset)
    ]


def study_args(w):
    """The settings of one study, all derived from the plan."""
    ds, T = w.dataset, PLAN.final_epoch(w.dataset)
    common = [f"dataset={ds}", f"study.name={w.study}", f"study.seeds={as_list(PLAN.spec.seeds)}",
              f"study.final_epoch={T}"]
    if w.study == "epochs":
        return [*common, f"study.grid={as_list(PLAN.grid(ds))}",
                f"study.k_values={as_list(PLAN.k_values())}"]
    if w.study == "refsize":
        pairs = as_list(as_list(p) for p in PLAN.refsize_pairs(ds))
        return [*common, f"study.pairs={pairs}", f"study.repeats={PLAN.spec.refsize_study.repeats}"]
    if w.study == "extraction":
        s = PLAN.spec.extraction_study
        return [*common, f"study.grid={as_list(PLAN.grid(ds))}", f"study.modes={as_list(s.modes)}",
                f"study.seed_offset={s.seed_offset}"]
    if w.study == "unlearning":
        return [*common, f"study.exact_seed_offset={PLAN.spec.unlearning_study.exact_seed_offset}"]
    pair = [PLAN.at(ds, PLAN.spec.agreement_study.pair_at), T]
    return [*common, f"study.pairs=[{as_list(pair)}]",
            f"study.num_points={as_list(PLAN.agreement_points())}"]


def study_inputs(w):
    """Signatures (epochs, refsize, section 5) or predicted labels (agreement) of every seed."""
    if w.study in ("extraction", "unlearning"):
        return suspect_signatures(w)
    if w.study == "agreement":
        return [PREDICTIONS.format(dataset=w.dataset, arch=PLAN.arch(w.dataset), recipe="standard",
                                   seed=s) for s in PLAN.spec.seeds]
    return signatures_of(w.dataset, w.refset)


def study_tables(study, datasets):
    """The study's tables for the datasets this scale has (missing ones become empty panels)."""
    return [
        DISTANCES.format(dataset=d, refset=PLAN.refset(study), study=study)
        for d in datasets
        if d in PLAN.datasets
    ]


def signature_families():
    """(dataset, family, recipe regex, reference set, epochs) of every kind of model that gets signatures.

    Standard runs need every saved epoch on the section-4 reference set, but only their final epoch on
    the unlearning study's forget set when that is another reference set (mini and smoke scales).
    """
    forget = PLAN.refset("unlearning")
    for ds in PLAN.datasets:
        T = PLAN.final_epoch(ds)
        if ds in PLAN.unlearning_datasets and forget != REFSET:
            yield ds, "standard", "standard", REFSET, PLAN.save_epochs(ds)
            yield ds, "standard_forget", "standard", forget, [T]
        else:
            yield ds, "standard", "standard", REFSETS, PLAN.save_epochs(ds)
        if ds in PLAN.extraction_datasets:
            yield (ds, "extracted", r"extract-(labels|outputs)-from-seed\d+", PLAN.refset("extraction"),
                   PLAN.grid(ds))
        if ds in PLAN.unlearning_datasets:
            yield ds, "unlearned", "unlearn-(exact|amnesiac)", forget, [T]


def suspect_signatures(w):
    """The signatures a section-5 study reads: victims at T and every suspect's."""
    ds, arch, T = w.dataset, PLAN.arch(w.dataset), PLAN.final_epoch(w.dataset)
    sig = lambda recipe, seed, epoch: SIGNATURE.format(
        dataset=ds, refset=w.refset, arch=arch, recipe=recipe, seed=seed, epoch=epoch
    )
    files = [sig("standard", s, T) for s in PLAN.spec.seeds]
    for v in PLAN.spec.seeds:
        if w.study == "extraction":
            for mode in PLAN.spec.extraction_study.modes:
                recipe = f"extract-{mode}-from-seed{v}"
                files += [sig(recipe, PLAN.extraction_seed(v), e) for e in PLAN.grid(ds)]
        else:
            files += [sig("unlearn-exact", PLAN.exact_seed(v), T), sig("unlearn-amnesiac", v, T)]
    return files


def unlearned_metrics():
    """metrics.json of every unlearned model (accuracies on the test and the forget set)."""
    return [metrics_json(d, seed, recipe=f"unlearn-{kind}") for d in PLAN.unlearning_datasets
            for s in PLAN.spec.seeds
            for kind, seed in (("exact", PLAN.exact_seed(s)), ("amnesiac", s))]


def verdict_tables():
    return [VERDICTS.format(dataset=d, refset=PLAN.refset(study), study=study)
            for study, datasets in (("extraction", PLAN.extraction_datasets),
                                    ("unlearning", PLAN.unlearning_datasets))
            for d in datasets]


def victim_checkpoint(w):
    """The victim (or original) model: the standard run of that seed at its final epoch."""
    T = PLAN.final_epoch(w.dataset)
    run = metrics_json(w.dataset, w.victim)
    return os.path.join(os.path.dirname(run), f"epoch{T}.safetensors")
