"""The data layer: every dataset loaded fully into memory as tensors (docs/architecture.md).

    from training.data import load_dataset
    bundle = load_dataset("cifar10", "results/smoke/data/cifar10")
    bundle.train.inputs  # uint8 (N, 3, 32, 32); bundle.train.labels int64 (N,)

The datasets, their domains, class counts and loaders: `registry` (`DATASETS`, `dataset_info`).
Loaders: `images` (cifar10, cifar100), `text` (ag_news), `audio` (speech_commands); generators of
small learnable datasets in the same formats: `python -m training.data.generate <name> <root>`.
"""

from core.datasets import DATASETS, DatasetInfo, dataset_info, datasets_of_domain
from training.data.base import DataBundle, DataError, Split, load_dataset
from training.data.vocab import Vocab, basic_english_tokenize, build_vocab_from_iterator

__all__ = [
    "DATASETS",
    "DataBundle",
    "DataError",
    "DatasetInfo",
    "Split",
    "Vocab",
    "basic_english_tokenize",
    "build_vocab_from_iterator",
    "dataset_info",
    "datasets_of_domain",
    "load_dataset",
]
