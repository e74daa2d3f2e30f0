# One job per training run computes the signatures of all the checkpoints the studies read from it (one
# process, one load of the reference and its cached pseudo-inverses). Which checkpoints depends on the
# dataset, on how the model was made (the recipe family) and on the reference set, hence one rule per
# (dataset, family), all derived by the plan from what the studies read.
for _ds, _family, _recipes, _refset, _epochs in PLAN.signature_families():

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
            refset=_refset,
        threads: PLAN.threads("signatures")
        resources:
            **PLAN.resources("signatures"),
        params:
            args=lambda w, input, output: hydra_args(
                f"reference_path={input.reference}",
                f"model_dir={os.path.dirname(input.model)}",
                f"signature_dir={os.path.dirname(output[0])}",
                f"run_dir={os.path.dirname(output[0])}",
            ),
            # evaluated now, while `_ds` and `_epochs` hold this rule's values
            fixed=hydra_args(f"epochs={as_list(_epochs)}", *PLAN.app_args("compute_signatures", _ds)),
        conda:
            "../../environment.yml"
        shell:
            logged("python -m experiments.compute_signatures {params.fixed} {params.args}")
