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
        args=lambda w: hydra_args(
            f"dataset={w.dataset}",
            f"data_root={PLAN.data_root()}",
            f"source={PLAN.spec.data.source}",
            f"summary={MODELS}/data/{w.dataset}.json",
            f"run_dir={MODELS}/data/.hydra-{w.dataset}",
            "hydra.output_subdir=.",
            *PLAN.data_args(w.dataset),
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m training.prepare_data {params.args}")
