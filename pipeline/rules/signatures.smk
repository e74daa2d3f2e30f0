# One job per model computes the signatures of all the checkpoints the studies read from it (one
# process, one load of the reference and its cached pseudo-inverses). Which checkpoints depends on the
# dataset, on the model's recipe and on the reference set, hence one rule per (dataset, recipe
# family), all derived by the plan from what the studies read.
for _ds, _family, _folders, _refset, _epochs in PLAN.signature_families():

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
            recipe=one_of(_folders),
            refset=_refset,
        threads: PLAN.threads("signatures")
        resources:
            **PLAN.resources("signatures"),
        params:
            # the default arguments are evaluated now, while `_ds` and `_epochs` hold this rule's
            args=lambda w, _d=_ds, _e=_epochs: hydra_args(
                *PLAN.signature_job(_d, w.refset, w.recipe, w.seed, _e)
            ),
            config=lambda w, _d=_ds, _e=_epochs: PLAN.digest(
                "compute_signatures", PLAN.signature_job(_d, w.refset, w.recipe, w.seed, _e)
            ),
        conda:
            "../../environment.yml"
        shell:
            logged("experiments.compute_signatures", "signatures")
