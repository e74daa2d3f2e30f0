# Zest: reference sets (shared by every model), one signature per checkpoint, distances per study.


rule build_reference:
    input:
        DATA_SUMMARY,
    output:
        REFERENCE,
    log:
        f"{ROOT}/logs/build_reference/{{dataset}}/{{refset}}.log",
    benchmark:
        f"{ROOT}/benchmarks/build_reference/{{dataset}}/{{refset}}.tsv"
    wildcard_constraints:
        refset=REFSETS,
    params:
        args=lambda w, output: hydra_args(
            f"dataset={w.dataset}",
            f"data_root={PLAN.data_root()}",
            f"out={output[0]}",
            f"run_dir={os.path.dirname(output[0])}",
            *PLAN.zest_args(w.dataset),
            f"reference.points={w.refset.replace('-', '_')}",
        ),
    conda:
        "../../environment.yml"
    shell:
        "python -m experiments.build_reference {params.args} > {log} 2>&1"


# One job per training run computes the signatures of all its checkpoints (one process, one load of the
# reference and its cached pseudo-inverses). Which checkpoints depends on the dataset and on how the model
# was made (the recipe family) and on the reference set, hence one rule per (dataset, family).
for _ds, _family, _recipes, _refsets, _epochs in signature_families():

    rule:
        name:
            f"compute_signatures_{_ds}_{_family}"
        input:
            reference=REFERENCE.replace("{dataset}", _ds),
            model=MODEL_METRICS.replace("{dataset}", _ds),
        output:
            expand(SIGNATURE, dataset=_ds, epoch=_epochs, allow_missing=True),
        log:
            f"{ROOT}/logs/compute_signatures/{_ds}/{{refset}}/{{arch}}/{{recipe}}/seed{{seed}}.log",
        benchmark:
            f"{ROOT}/benchmarks/compute_signatures/{_ds}/{{refset}}/{{arch}}/{{recipe}}/seed{{seed}}.tsv"
        wildcard_constraints:
            recipe=_recipes,
            refset=_refsets,
        resources:
            gpu=1,
        params:
            args=lambda w, input, output: hydra_args(
                f"reference_path={input.reference}",
                f"model_dir={os.path.dirname(input.model)}",
                f"signature_dir={os.path.dirname(output[0])}",
                f"run_dir={os.path.dirname(output[0])}",
            ),
            # evaluated now, while `_ds` and `_epochs` hold this rule's values
            fixed=hydra_args(f"dataset={_ds}", f"epochs={as_list(_epochs)}", *PLAN.zest_args(_ds)),
        conda:
            "../../environment.yml"
        shell:
            "python -m experiments.compute_signatures {params.fixed} {params.args} > {log} 2>&1"


rule predict_labels:
    input:
        data=DATA_SUMMARY,
        model=MODEL_METRICS,
    output:
        PREDICTIONS,
    log:
        f"{ROOT}/logs/predict_labels/{{dataset}}/{{arch}}/{{recipe}}/seed{{seed}}.log",
    benchmark:
        f"{ROOT}/benchmarks/predict_labels/{{dataset}}/{{arch}}/{{recipe}}/seed{{seed}}.tsv"
    params:
        args=lambda w, input, output: hydra_args(
            f"dataset={w.dataset}",
            f"data_root={PLAN.data_root()}",
            f"model_dir={os.path.dirname(input.model)}",
            f"out={output[0]}",
            f"predictions.num_points={max(PLAN.agreement_points())}",
            f"reference.points={REFSET.replace('-', '_')}",
            f"run_dir={os.path.dirname(output[0])}",
            f"hydra.output_subdir=.hydra-seed{w.seed}",
            *PLAN.zest_args(w.dataset),
        ),
    conda:
        "../../environment.yml"
    shell:
        "python -m experiments.predict_labels {params.args} > {log} 2>&1"


rule compute_distances:
    input:
        study_inputs,
    output:
        DISTANCES,
    log:
        f"{ROOT}/logs/compute_distances/{{dataset}}/{{refset}}/{{study}}.log",
    benchmark:
        f"{ROOT}/benchmarks/compute_distances/{{dataset}}/{{refset}}/{{study}}.tsv"
    wildcard_constraints:
        study="epochs|refsize|agreement",
    params:
        args=lambda w, input, output: hydra_args(
            *study_args(w),
            f"inputs_root={ROOT}",
            f"arch={PLAN.arch(w.dataset)}",
            f"refset={w.refset}",
            f"out={output[0]}",
            f"run_dir={os.path.dirname(output[0])}",
            f"hydra.output_subdir=.hydra-{w.study}",
            *PLAN.zest_args(w.dataset),
        ),
    conda:
        "../../environment.yml"
    shell:
        "python -m experiments.compute_distances {params.args} > {log} 2>&1"
