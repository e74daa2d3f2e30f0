"""The numbers the paper reports, in one place (Jia et al., "A Zest of LIME", ICLR 2022).

Every figure and table puts our measurement beside one of these values; nothing else in the
project should hard-code a paper number. Percentages are in percent (0-100); distances are relative
distances (paper appendix C: the distance divided by the mean distance of unrelated models at the
last epoch). Each value records where in the paper it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.datasets import DATASETS


@dataclass(frozen=True)
class Reported:
    """One reported value: mean (and std over the paper's runs, when given) plus its location."""

    mean: float
    std: float | None = None
    where: str = ""

    def __str__(self) -> str:
        return f"{self.mean:.2f}" if self.std is None else f"{self.mean:.2f} ± {self.std:.2f}"


# --- Setup (section 4.1): datasets, classifiers and their accuracies are in the dataset registry
# (core.datasets: label, paper_arch, paper_accuracy).
MODEL_LABELS = {"resnet20": "ResNet20", "resnet50": "ResNet50", "lstm": "LSTM", "m5": "M5"}
NUM_SEEDS = 5  # "averaged over 5 different training runs" (section 4.1)
REFERENCE_SET_SIZE = 128  # N, "we select 128 samples randomly from the training set" (section 4.1)
EPOCHS = 200  # epochs [0, 200] of the reference classifier (section 4.2)
K = 5  # related pair: C_ref^(t) vs C_ref^(t+k), "We consider k = 5" (Figure 2)

# --- Test accuracy of the trained classifiers, % (section 4.1) -----------------------------------
ACCURACY = {name: Reported(*info.paper_accuracy, "§4.1") for name, info in DATASETS.items()}

# --- "Related pairs are X % closer than unrelated ones" (section 1, contributions) ---------------
HEADLINE_CLOSER = {
    "cifar10": Reported(99.27, 0.19, "§1"),
    "cifar100": Reported(98.75, 0.12, "§1"),
    "ag_news": Reported(92.68, 2.22, "§1"),
    "speech_commands": Reported(81.17, 3.01, "§1"),
}

# --- Figure 2 / section 4.2: shape statements ----------------------------------------------------
UNRELATED_FINAL_ABOVE = 1.0  # "still above 1 at the last epoch (epoch=200)" for unrelated ResNet20

# --- Figure 7 / appendix D: related CIFAR-10 distance for each k ---------------------------------
K_ABLATION = (1, 10, 20, 50)
RELATED_DISTANCE_BY_K = {
    "cifar10": {
        1: Reported(0.0035, None, "App. D"),
        10: Reported(0.0070, None, "App. D"),
        20: Reported(0.0120, None, "App. D"),
        50: Reported(0.0630, None, "App. D"),
    }
}

# --- Figure 3 / section 4.3: reference-set size --------------------------------------------------
REFSIZE_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)
REFSIZE_PAIRS = ("100-200", "190-200")  # C_ref^(100) vs C_ref^(200), C_ref^(190) vs C_ref^(200)
REFSIZE_STD = {"100-200": {1: Reported(0.3, None, "§4.3"), 128: Reported(0.0, None, "§4.3 (~0)")}}

# --- Section 4.3: prediction agreement (%) on the reference set, CIFAR-10 ------------------------
# related = C_ref^(100) vs C_ref^(200); unrelated = two models trained from different seeds.
AGREEMENT = {
    "cifar10": {
        128: {
            "related": Reported(93.28, 1.06, "§4.3"),
            "unrelated": Reported(91.52, 2.27, "§4.3"),
        },
        1280: {
            "related": Reported(92.27, 0.22, "§4.3"),
            "unrelated": Reported(91.59, 0.76, "§4.3"),
        },
    }
}
AGREEMENT_RELATED_EPOCHS = (100, 200)
# Points picked near the decision boundary (section 4.3, CIFAR-10).
AGREEMENT_NEAR_BOUNDARY = {
    "unrelated": Reported(35.23, 2.60, "§4.3"),
    "related": Reported(41.92, 2.82, "§4.3"),
    "extracted": Reported(32.36, 1.84, "§4.3"),  # victim vs high-fidelity extracted copy
}

# --- Section 5 (case studies), kept here for the figures of section 5 ----------------------------
# Model extraction (Figure 5, §5.2): relative distance victim-extracted at the last epoch.
EXTRACTION_RELATIVE_DISTANCE = {
    "cifar10": Reported(0.80, None, "§5.2"),
    "cifar100": Reported(0.60, None, "§5.2"),
}
# "... is X % closer on average than the distance between the original and a retrained model" (§1).
EXTRACTION_CLOSER = {
    "cifar10": Reported(19.96, 4.28, "§1"),
    "cifar100": Reported(54.87, 1.70, "§1"),
}
# Unlearning (Figure 6, §5.3): exactly unlearned is X % further than a retrained model (§1).
UNLEARNING_FURTHER = {
    "cifar10": Reported(144.56, 15.39, "§1"),
    "cifar100": Reported(140.51, 9.10, "§1"),
}
# ModelReuse benchmark accuracy, % (Table 1, §5.2): task -> (#models, Zest cosine, ModelDiff).
MODELREUSE_ACCURACY = {
    "Transfer": (12, 100.0, 100.0),
    "Prune": (36, 100.0, 100.0),
    "Quantization": (12, 100.0, 100.0),
    "Distillation": (12, 100.0, 100.0),
    "Model extraction": (12, 100.0, 0.0),
    "Transfer + prune": (36, 100.0, 100.0),
    "Transfer + quantize": (12, 100.0, 100.0),
    "Transfer + distill": (12, 100.0, 100.0),
    "Overall": (144, 100.0, 91.7),
}
MODELREUSE_THRESHOLD = 1.0  # relative distance < 1: similar models (§5.2)
# Relative distance original-to-exactly-unlearned implied by UNLEARNING_FURTHER: 1 + X / 100.
UNLEARNING_EXACT_RELATIVE = {
    d: Reported(1.0 + v.mean / 100.0, None, f"{v.where}, 1 + X/100")
    for d, v in UNLEARNING_FURTHER.items()
}
# Approximately unlearned (Graves et al. 2020): "the distance ... is almost null" (§5.3), no number.
UNLEARNING_APPROXIMATE_RELATIVE = Reported(0.0, None, "§5.3, 'almost null' (no number given)")
UNLEARNING_APPROXIMATE_TEXT = "almost zero"
# The paper's expectation per suspect kind: related by the rule relative < 1 (§5.2, §5.3).
SUSPECT_EXPECTED_RELATED = {
    "extract-labels": True,
    "extract-outputs": True,
    "unlearn-exact": False,
    "unlearn-amnesiac": True,
}


# --- ModelReuse, Table 5 (Appendix F): Zest relative distance per subtask ---------------------
# Table 1 is MODELREUSE_ACCURACY above. Table 5 gives, per subtask, #models (positive pairs), the
# l2 and cosine relative distance (mean ± std over the pairs) and the share of pairs under 1 (%).
# Its "Overall" row is the pair-weighted mean of the rows; its std is reproduced by pooling the
# rows with their stds read as population stds (ddof=0) and the pooled std as a sample one
# (ddof=1): 0.2816 and 0.3083 (figures.catalog.modelreuse.overall).
@dataclass(frozen=True)
class ReuseRow:
    """One row of Table 5: pairs, l2 and cosine relative distance (mean ± std) and accuracy, %."""

    n: int
    l2: Reported
    l2_accuracy: float
    cosine: Reported
    cosine_accuracy: float


def _t5(n: int, l2: float, l2_std: float, l2_acc: float, cos: float, cos_std: float,
        cos_acc: float) -> ReuseRow:  # fmt: skip
    where = "Table 5 (App. F)"
    return ReuseRow(n, Reported(l2, l2_std, where), l2_acc, Reported(cos, cos_std, where), cos_acc)


MODELREUSE_TABLE5 = {
    "Transfer (tune 10%)": _t5(4, 0.745, 0.075, 100.0, 0.816, 0.040, 100.0),
    "Transfer (tune 50%)": _t5(4, 0.682, 0.185, 100.0, 0.843, 0.041, 100.0),
    "Transfer (tune 100%)": _t5(4, 0.703, 0.207, 100.0, 0.851, 0.037, 100.0),
    "Prune 20%": _t5(12, 0.421, 0.143, 100.0, 0.218, 0.141, 100.0),
    "Prune 50%": _t5(12, 0.476, 0.128, 100.0, 0.276, 0.137, 100.0),
    "Prune 80%": _t5(12, 0.829, 0.304, 58.33, 0.555, 0.229, 100.0),
    "Quantize": _t5(12, 0.074, 0.155, 100.0, 0.067, 0.150, 100.0),
    "Distill": _t5(12, 0.633, 0.136, 100.0, 0.571, 0.166, 100.0),
    "Steal": _t5(12, 0.716, 0.130, 100.0, 0.752, 0.131, 100.0),
    "Transfer + prune 20%": _t5(12, 0.692, 0.225, 100.0, 0.861, 0.040, 100.0),
    "Transfer + prune 50%": _t5(12, 0.715, 0.217, 91.67, 0.856, 0.046, 100.0),
    "Transfer + prune 80%": _t5(12, 0.893, 0.241, 75.00, 0.868, 0.038, 100.0),
    "Transfer + quantize": _t5(12, 0.707, 0.171, 100.0, 0.840, 0.045, 100.0),
    "Transfer + distill": _t5(12, 0.514, 0.127, 100.0, 0.909, 0.060, 100.0),
}
MODELREUSE_TABLE5_OVERALL = _t5(144, 0.615, 0.282, 93.75, 0.634, 0.308, 100.0)
# The Table 1 task of each Table 5 subtask (Table 3's descriptions; "Steal" is model extraction).
MODELREUSE_TASK_OF = {
    **{s: "Transfer" for s in MODELREUSE_TABLE5 if s.startswith("Transfer (tune")},
    **{s: "Prune" for s in MODELREUSE_TABLE5 if s.startswith("Prune")},
    "Quantize": "Quantization",
    "Distill": "Distillation",
    "Steal": "Model extraction",
    **{s: "Transfer + prune" for s in MODELREUSE_TABLE5 if s.startswith("Transfer + prune")},
    "Transfer + quantize": "Transfer + quantize",
    "Transfer + distill": "Transfer + distill",
}
