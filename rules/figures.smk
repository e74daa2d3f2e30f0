# Figures and tables of the paper, rendered from the result tables only (never from checkpoints).

VISION = ["cifar10", "cifar100"]
TEXT_AUDIO = ["ag_news", "speech_commands"]
FIGURES = {  # name -> (study table, datasets of its panels)
    "fig2_epochs_vision": ("epochs", VISION),
    "fig3_refsize": ("refsize", VISION),
    "fig4_epochs_text_audio": ("epochs", TEXT_AUDIO),
    "fig7_k": ("epochs", VISION),
    "fig8_metrics": ("epochs", VISION),
}
TABLES = {
    "table_headline": ("epochs", list(PLAN.spec.datasets)),
    "table_agreement": ("agreement", list(PLAN.spec.datasets)),
}


rule render_figure:
    input:
        lambda w: study_tables(*FIGURES[w.name]),
    output:
        pdf=report(f"{ROOT}/figures/{{name}}.pdf", caption="../figures/captions/{name}.rst",
                   category="Figures"),
        png=f"{ROOT}/figures/{{name}}.png",
    log:
        f"{ROOT}/logs/render/{{name}}.log",
    benchmark:
        f"{ROOT}/benchmarks/render/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(FIGURES),
    params:
        k=PLAN.spec.epochs_study.k,
        out=lambda w, output: output.pdf[: -len(".pdf")],
    localrule: True
    conda:
        "../environment.yml"
    shell:
        "python -m figures.render {wildcards.name} --out {params.out} --k {params.k} {input} "
        "> {log} 2>&1"


rule render_table:
    input:
        lambda w: study_tables(*TABLES[w.name]),
    output:
        csv=report(f"{ROOT}/tables/{{name}}.csv", caption="../figures/captions/{name}.rst",
                   category="Tables"),
        md=f"{ROOT}/tables/{{name}}.md",
        tex=f"{ROOT}/tables/{{name}}.tex",
    log:
        f"{ROOT}/logs/render/{{name}}.log",
    benchmark:
        f"{ROOT}/benchmarks/render/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(TABLES),
    params:
        k=PLAN.spec.epochs_study.k,
        out=lambda w, output: output.csv[: -len(".csv")],
    localrule: True
    conda:
        "../environment.yml"
    shell:
        "python -m figures.render {wildcards.name} --out {params.out} --k {params.k} {input} "
        "> {log} 2>&1"


rule render_accuracy_table:
    input:
        [metrics_json(d, s) for d in PLAN.datasets for s in PLAN.spec.seeds],
    output:
        csv=report(f"{ROOT}/tables/table_accuracy.csv",
                   caption="../figures/captions/table_accuracy.rst", category="Tables"),
        md=f"{ROOT}/tables/table_accuracy.md",
        tex=f"{ROOT}/tables/table_accuracy.tex",
    log:
        f"{ROOT}/logs/render/table_accuracy.log",
    params:
        out=lambda w, output: output.csv[: -len(".csv")],
    localrule: True
    conda:
        "../environment.yml"
    shell:
        "python -m figures.render table_accuracy --out {params.out} {input} > {log} 2>&1"


rule make_report_inputs:
    input:
        expand(f"{ROOT}/figures/{{name}}.{{ext}}", name=FIGURES, ext=["pdf", "png"]),
        expand(f"{ROOT}/tables/{{name}}.{{ext}}", name=[*TABLES, "table_accuracy"],
               ext=["csv", "md", "tex"]),
    localrule: True
