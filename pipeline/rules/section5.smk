# Section 5: extracted copies (model stealing) and unlearned models, their distances and verdicts.
# The forget set of the unlearning study is the first N training points: the `train-first` reference.

EXTRACTED = f"{MODELS}/models/{{dataset}}/{{arch}}/extract-{{mode}}-from-seed{{victim}}/seed{{seed}}"
UNLEARNED = f"{MODELS}/models/{{dataset}}/{{arch}}/unlearn-{{kind}}/seed{{seed}}"


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
    resources:
        gpu=1,
        runtime=24 * 60,
    params:
        args=lambda w, output: hydra_args(
            *PLAN.train_args(w.dataset),
            f"seed={w.seed}",
            f"data_root={PLAN.data_root()}",
            f"out_dir={os.path.dirname(output[0])}",
            f"save_epochs={as_list(PLAN.grid(w.dataset))}",
            f"extraction.victim={victim_checkpoint(w)}",
            f"extraction.mode={w.mode}",
        ),
    conda:
        "../../environment.yml"
    shell:
        "python -m training.train {params.args} > {log} 2>&1"


rule train_exactly_unlearned_model:
    input:
        DATA_SUMMARY,
    output:
        f"{MODELS}/models/{{dataset}}/{{arch}}/unlearn-exact/seed{{seed}}/metrics.json",
    log:
        f"{MODELS}/logs/train_model/{{dataset}}/{{arch}}/unlearn-exact/seed{{seed}}.log",
    benchmark:
        f"{MODELS}/benchmarks/train_model/{{dataset}}/{{arch}}/unlearn-exact/seed{{seed}}.tsv"
    resources:
        gpu=1,
        runtime=24 * 60,
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
        "python -m training.train {params.args} > {log} 2>&1"


rule unlearn_model:
    input:
        lambda w: metrics_json(w.dataset, w.seed),
    output:
        f"{MODELS}/models/{{dataset}}/{{arch}}/unlearn-amnesiac/seed{{seed}}/metrics.json",
    log:
        f"{MODELS}/logs/unlearn_model/{{dataset}}/{{arch}}/seed{{seed}}.log",
    benchmark:
        f"{MODELS}/benchmarks/unlearn_model/{{dataset}}/{{arch}}/seed{{seed}}.tsv"
    params:
        args=lambda w, input, output: hydra_args(
            f"dataset={w.dataset}",
            *PLAN.spec.dataset_overrides.get(w.dataset, []),
            f"data_root={PLAN.data_root()}",
            f"model_dir={os.path.dirname(input[0])}",
            f"window={PLAN.spec.unlearning_study.window}",
            f"repair_epochs={PLAN.spec.unlearning_study.repair_epochs}",
            f"out={os.path.dirname(output[0])}/epoch{PLAN.final_epoch(w.dataset)}.safetensors",
            f"run_dir={os.path.dirname(output[0])}",
        ),
    conda:
        "../../environment.yml"
    shell:
        "python -m experiments.unlearn {params.args} > {log} 2>&1"


rule compute_suspect_distances:
    input:
        study_inputs,
    output:
        distances=DISTANCES,
        verdicts=VERDICTS,
    log:
        f"{ROOT}/logs/compute_distances/{{dataset}}/{{refset}}/{{study}}.log",
    benchmark:
        f"{ROOT}/benchmarks/compute_distances/{{dataset}}/{{refset}}/{{study}}.tsv"
    wildcard_constraints:
        study="extraction|unlearning",
    params:
        args=lambda w, input, output: hydra_args(
            *study_args(w),
            f"inputs_root={ROOT}",
            f"arch={PLAN.arch(w.dataset)}",
            f"refset={w.refset}",
            f"out={output.distances}",
            f"verdicts_out={output.verdicts}",
            f"run_dir={os.path.dirname(output.distances)}",
            f"hydra.output_subdir=.hydra-{w.study}",
            *PLAN.zest_args(w.dataset),
        ),
    conda:
        "../../environment.yml"
    shell:
        "python -m experiments.compute_distances {params.args} > {log} 2>&1"
