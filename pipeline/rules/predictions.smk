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
        args=lambda w: hydra_args(*PLAN.predict_job(w.dataset, w.recipe, w.seed)),
        config=lambda w: PLAN.digest("predict_labels", PLAN.predict_job(w.dataset, w.recipe, w.seed)),
    conda:
        "../../environment.yml"
    shell:
        logged("experiments.predict_labels", "predict")
