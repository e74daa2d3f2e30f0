# Model outputs the studies read besides signatures: argmax labels on the first training points and
# scores on the test split, for the epochs of a run that some study asks for (one job per run).


rule predict:
    input:
        data=DATA_SUMMARY,
        model=MODEL_METRICS,
    output:
        PREDICTIONS,
    log:
        f"{ROOT}/logs/predict/{RUN}.log",
    benchmark:
        f"{ROOT}/benchmarks/predict/{RUN}.tsv"
    threads: PLAN.threads("predict")
    resources:
        **PLAN.resources("predict"),
    params:
        args=lambda w, input, output: hydra_args(
            f"dataset={w.dataset}",
            f"data_root={PLAN.data_root()}",
            f"model_dir={os.path.dirname(input.model)}",
            f"out={output[0]}",
            *predicted(w),
            f"reference.points={PLAN.spec.refset.replace('-', '_')}",
            f"run_dir={os.path.dirname(output[0])}",
            f"hydra.output_subdir=.hydra-seed{w.seed}",
            *PLAN.app_args("predict_labels", w.dataset),
        ),
    conda:
        "../../environment.yml"
    shell:
        logged("python -m experiments.predict_labels {params.args}")
