# The reference sets: N points and their perturbations, shared by every model of a dataset.


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
    threads: PLAN.threads("reference")
    resources:
        **PLAN.resources("reference"),
    params:
        args=lambda w: hydra_args(*PLAN.reference_job(w.dataset, w.refset)),
        config=lambda w: PLAN.digest("build_reference", PLAN.reference_job(w.dataset, w.refset)),
    conda:
        "../../environment.yml"
    shell:
        logged("experiments.build_reference", "reference")
