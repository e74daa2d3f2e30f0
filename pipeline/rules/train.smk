# Train every model a study reads, keeping the checkpoints it reads (PLAN.save_epochs): the reference
# and unrelated models, the extracted copies, the exactly and approximately unlearned models. The
# job's declared output is metrics.json; checkpoints sit beside it. An interrupted job resumes from
# its last complete epoch (resume.pt, which Snakemake never deletes) when the pipeline is started again.


rule train_model:
    input:
        DATA_SUMMARY,
    output:
        MODEL_METRICS,
    log:
        f"{MODELS}/logs/train_model/{RUN}.log",
    benchmark:
        f"{MODELS}/benchmarks/train_model/{RUN}.tsv"
    wildcard_constraints:
        recipe="standard",
    threads: PLAN.threads("train")
    resources:
        **PLAN.resources("train"),
    params:
        args=lambda w, output: hydra_args(
            *PLAN.standard_train_args(w.dataset),
            f"seed={w.seed}",
            f"data_root={PLAN.data_root()}",
            f"out_dir={os.path.dirname(output[0])}",
            f"save_epochs={as_list(PLAN.save_epochs(w.dataset))}",
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m training.train {params.args}")


EXTRACTED = f"{MODELS}/models/{{dataset}}/{{arch}}/extract-{{mode}}-from-seed{{victim}}/seed{{seed}}"


rule train_extracted_model:
    input:
        victim=lambda w: metrics_json(w.dataset, w.victim),
    output:
        f"{EXTRACTED}/metrics.json",
    log:
        f"{MODELS}/logs/train_model/{{dataset}}/{{arch}}/extract-{{mode}}-from-seed{{victim}}/seed{{seed}}.log",
    benchmark:
        f"{MODELS}/benchmarks/train_model/{{dataset}}/{{arch}}/extract-{{mode}}-from-seed{{victim}}/seed{{seed}}.tsv"
    wildcard_constraints:
        mode="labels|outputs",
    threads: PLAN.threads("train")
    resources:
        **PLAN.resources("train"),
    params:
        args=lambda w, output: hydra_args(
            *PLAN.train_args(w.dataset),
            f"seed={w.seed}",
            f"data_root={PLAN.data_root()}",
            f"out_dir={os.path.dirname(output[0])}",
            f"save_epochs={as_list(PLAN.save_epochs(w.dataset, f'extract-{w.mode}-from-seed{w.victim}', int(w.seed)))}",
            f"extraction.victim={victim_checkpoint(w)}",
            f"extraction.mode={w.mode}",
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m training.train {params.args}")


rule train_exactly_unlearned_model:
    input:
        DATA_SUMMARY,
    output:
        f"{MODELS}/models/{{dataset}}/{{arch}}/unlearn-exact/seed{{seed}}/metrics.json",
    log:
        f"{MODELS}/logs/train_model/{{dataset}}/{{arch}}/unlearn-exact/seed{{seed}}.log",
    benchmark:
        f"{MODELS}/benchmarks/train_model/{{dataset}}/{{arch}}/unlearn-exact/seed{{seed}}.tsv"
    threads: PLAN.threads("train")
    resources:
        **PLAN.resources("train"),
    params:
        args=lambda w, output: hydra_args(
            *PLAN.train_args(w.dataset),
            f"seed={w.seed}",
            f"data_root={PLAN.data_root()}",
            f"out_dir={os.path.dirname(output[0])}",
            f"save_epochs={as_list([PLAN.final_epoch(w.dataset)])}",
            "unlearning.exclude_forget=true",
            f"unlearning.forget_points={PLAN.num_reference}",
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m training.train {params.args}")


rule unlearn_model:
    input:
        lambda w: metrics_json(w.dataset, w.seed),
    output:
        f"{MODELS}/models/{{dataset}}/{{arch}}/unlearn-amnesiac/seed{{seed}}/metrics.json",
    log:
        f"{MODELS}/logs/unlearn_model/{{dataset}}/{{arch}}/seed{{seed}}.log",
    benchmark:
        f"{MODELS}/benchmarks/unlearn_model/{{dataset}}/{{arch}}/seed{{seed}}.tsv"
    threads: PLAN.threads("train")
    resources:
        **PLAN.resources("train"),
    params:
        args=lambda w, input, output: hydra_args(
            f"dataset={w.dataset}",
            *PLAN.spec.dataset_overrides.get(w.dataset, []),
            f"data_root={PLAN.data_root()}",
            f"model_dir={os.path.dirname(input[0])}",
            f"window={PLAN.settings('unlearning').window}",
            f"repair_epochs={PLAN.settings('unlearning').repair_epochs}",
            f"out={os.path.dirname(output[0])}/epoch{PLAN.final_epoch(w.dataset)}.safetensors",
            f"run_dir={os.path.dirname(output[0])}",
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m experiments.unlearn {params.args}")
