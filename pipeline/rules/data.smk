# Get the data: download it, generate it (smoke scale), or check a local copy (mini scale).


rule prepare_data:
    output:
        DATA_SUMMARY,
    log:
        f"{MODELS}/logs/prepare_data/{{dataset}}.log",
    benchmark:
        f"{MODELS}/benchmarks/prepare_data/{{dataset}}.tsv"
    threads: PLAN.threads("data")
    resources:
        **PLAN.resources("data"),
    params:
        args=lambda w: hydra_args(*PLAN.data_job(w.dataset)),
        config=lambda w: PLAN.digest("training.prepare_data", PLAN.data_job(w.dataset)),
    conda:
        "../../environment.yml"
    shell:
        logged("training.prepare_data", "data")
