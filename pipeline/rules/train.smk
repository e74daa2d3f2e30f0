# Train the reference and unrelated models (one job per seed), keeping every checkpoint a study reads.
# The job's declared output is metrics.json; checkpoints sit beside it. An interrupted job resumes from
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
    resources:
        gpu=1,
        runtime=24 * 60,
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
        "python -m training.train {params.args} > {log} 2>&1"
