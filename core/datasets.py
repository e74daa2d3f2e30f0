"""The one registry of datasets: name, label, input domain, classes, loader and the paper's setup.

Every list of dataset names, class count or domain in the project (the loaders, the checks of the
apps, the plan, the rules and the figures) reads it from here.

    from core.datasets import DATASETS, dataset_info, datasets_of_domain
    dataset_info("cifar100").num_classes   # 100
    datasets_of_domain("image")            # ("cifar10", "cifar100")
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import SettingsError


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset as the paper uses it (section 4.1)."""

    name: str  # the name in configs, paths and tables
    label: str  # the name in figures and tables
    domain: str  # image | text | audio: what its models take (training.models.DOMAINS: per arch)
    num_classes: int  # classes of the full dataset (a local subset may hold fewer)
    loader: tuple[str, str]  # (module, function), imported lazily
    paper_arch: str  # the paper's classifier for it
    paper_accuracy: tuple[float, float]  # the paper's test accuracy of it, % (mean, std; §4.1)

    @property
    def chance(self) -> float:
        """Accuracy of a constant guess over balanced classes, in [0, 1]."""
        return 1.0 / self.num_classes

    @property
    def broken_below(self) -> float:
        """Test accuracy (in [0, 1]) at or below which a model counts as broken (near chance):
        max(2 x chance, chance + 5 points); CIFAR-10: 20 %, CIFAR-100: 6 %."""
        return max(2.0 * self.chance, self.chance + 0.05)


_ALL = (
    DatasetInfo("cifar10", "CIFAR-10", "image", 10, ("training.data.images", "load_cifar10"),
                "resnet20", (91.77, 0.17)),
    DatasetInfo("cifar100", "CIFAR-100", "image", 100, ("training.data.images", "load_cifar100"),
                "resnet50", (76.17, 0.22)),
    DatasetInfo("ag_news", "AG News", "text", 4, ("training.data.text", "load_ag_news"),
                "lstm", (90.27, 0.52)),
    DatasetInfo("speech_commands", "Speech Commands", "audio", 35,
                ("training.data.audio", "load_speech_commands"), "m5", (87.67, 0.86)),
)  # fmt: skip
DATASETS: dict[str, DatasetInfo] = {d.name: d for d in _ALL}


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of `name`.

    Raises:
        SettingsError: not a dataset of the registry (the message lists them).
    """
    if name not in DATASETS:
        raise SettingsError(f"unknown dataset {name!r}: one of {', '.join(DATASETS)}")
    return DATASETS[name]


def datasets_of_domain(domain: str) -> tuple[str, ...]:
    """The datasets whose models take `domain` inputs, in registry order."""
    return tuple(d.name for d in _ALL if d.domain == domain)
