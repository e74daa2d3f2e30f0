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
        args=lambda w, output: hydra_args(
            f"dataset={w.dataset}",
            f"data_root={PLAN.data_root()}",
            f"out={output[0]}",
            f"run_dir={os.path.dirname(output[0])}",
            *PLAN.app_args("build_reference", w.dataset),
            f"reference.points={w.refset.replace('-', '_')}",
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m experiments.build_reference {params.args}")
