"""AG News from the standard CSV release, tokenized and padded to a fixed length.

`root` holds the files of the `ag_news_csv` release: `train.csv`, `test.csv` (rows
`"class","title","description"`, class 1..4, a title or a description not blank; any other row
is refused with its line) and `classes.txt` (one name a line; the standard names
are used when it is absent). With `download=True` missing CSVs are fetched and sha256-checked.

- Text of a row: `title + " " + description`, tokenized with `basic_english_tokenize`.
- Vocabulary: built from the training split only; specials `<pad>` (index 0) and `<unk>`
  (index 1) first, then tokens by descending frequency (ties: alphabetical), `min_freq` and
  `max_tokens` as torchtext; unknown tokens map to `<unk>`.
- Inputs: int64 (N, max_len), the first `max_len` token ids, right-padded with `<pad>`.
- Only `test.csv` present (as in the shared real subset): the file is split in two, stratified
  by class: for each class (in label order) a `numpy.random.default_rng(split_seed)` permutation
  of its rows (in file order) picks `round(test_fraction * n_class)` rows for the test split; the
  rest is the training split. Both keep file order. The split depends on `split_seed` only,
  never on the model seed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from core.errors import SettingsError
from training.data.base import DataBundle, Split, download_file, missing_error
from training.data.names import AG_NEWS_CLASSES
from training.data.records import read_lines, read_text, record_error, shorten
from training.data.vocab import Vocab, basic_english_tokenize, build_vocab_from_iterator

__all__ = ["AG_NEWS_CLASSES", "AG_NEWS_FILES", "load_ag_news", "stratified_split"]

_MIRROR = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv"
AG_NEWS_FILES = {  # file -> (url, sha256) of the original release
    "train.csv": (
        f"{_MIRROR}/train.csv",
        "76a0a2d2f92b286371fe4d4044640910a04a803fdd2538e0f3f29a5c6f6b672e",
    ),
    "test.csv": (
        f"{_MIRROR}/test.csv",
        "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
    ),
}
PAD, UNK = "<pad>", "<unk>"
PAD_INDEX, UNK_INDEX = 0, 1


def load_ag_news(
    root: Path,
    *,
    download: bool = False,
    max_len: int = 64,
    min_freq: int = 1,
    max_tokens: int | None = None,
    split_seed: int = 0,
    test_fraction: float = 0.2,
) -> DataBundle:
    """AG News: inputs int64 (N, max_len) token ids padded with 0, labels int64 (N,) in 0..3.

    Args:
        root: folder with test.csv (and train.csv, classes.txt).
        download: fetch missing train.csv/test.csv (sha256-checked).
        max_len: tokens kept per text (truncate / right-pad).
        min_freq, max_tokens: vocabulary limits (see `build_vocab_from_iterator`).
        split_seed, test_fraction: the split of test.csv when train.csv is absent.
    """
    if max_len < 1:
        raise SettingsError(f"max_len must be >= 1, got {max_len}")
    if download:
        for name, (url, sha256) in AG_NEWS_FILES.items():
            if not (root / name).is_file():
                download_file(url, root / name, sha256)
    if not (root / "test.csv").is_file():
        raise missing_error(root, _hint(root))
    classes = _read_classes(root / "classes.txt")
    test_texts, test_labels = read_ag_news_csv(root / "test.csv", classes)
    if (root / "train.csv").is_file():
        train_texts, train_labels = read_ag_news_csv(root / "train.csv", classes)
    else:
        train_idx, test_idx = stratified_split(test_labels, test_fraction, split_seed)
        train_texts = [test_texts[i] for i in train_idx]
        train_labels = test_labels[train_idx]
        test_texts = [test_texts[i] for i in test_idx]
        test_labels = test_labels[test_idx]
    train_tokens = [basic_english_tokenize(t) for t in train_texts]
    vocab = build_vocab_from_iterator(train_tokens, min_freq, (PAD, UNK), max_tokens=max_tokens)
    vocab.set_default_index(UNK_INDEX)
    test_tokens = [basic_english_tokenize(t) for t in test_texts]
    train = Split(encode(train_tokens, vocab, max_len), torch.from_numpy(train_labels))
    test = Split(encode(test_tokens, vocab, max_len), torch.from_numpy(test_labels))
    info = {"vocab": vocab, "pad_index": PAD_INDEX, "unk_index": UNK_INDEX, "max_len": max_len}
    return DataBundle("ag_news", "text", classes, train, test, info)


def encode(tokens: list[list[str]], vocab: Vocab, max_len: int) -> torch.Tensor:
    """Token lists -> int64 (N, max_len): ids of the first max_len tokens, right-padded with 0."""
    ids = np.full((len(tokens), max_len), PAD_INDEX, dtype=np.int64)
    for row, toks in enumerate(tokens):
        found = vocab.lookup_indices(toks[:max_len])
        ids[row, : len(found)] = found
    return torch.from_numpy(ids)


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of row indices (see the module docstring).

    Args:
        labels: int64 (N,).
        test_fraction: share of each class that goes to the test part, in (0, 1).
        seed: the split's own seed.

    Returns:
        (train_indices, test_indices): sorted int64 arrays, disjoint, together 0..N-1.
    """
    if not 0.0 < test_fraction < 1.0:
        raise SettingsError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        n_test = int(round(test_fraction * len(rows)))
        test_parts.append(rows[rng.permutation(len(rows))[:n_test]])
    test_idx = np.sort(np.concatenate(test_parts)).astype(np.int64)
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[test_idx] = False
    return np.flatnonzero(train_mask).astype(np.int64), test_idx


def read_ag_news_csv(path: Path, classes: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Rows `"class","title","description"` -> (texts, labels int64 (N,) in 0..len(classes)-1).

    A malformed row is refused with its line (1-based, where the row starts) and what is wrong.
    """
    hint = _hint(path.parent)
    reader = csv.reader(io.StringIO(read_text(path, hint), newline=""))
    texts: list[str] = []
    labels: list[int] = []
    line_end = 0  # the last line of the previous row: a row starts on the next one
    try:
        for row in reader:
            line, line_end = line_end + 1, reader.line_num
            problem = _row_problem(row, classes)
            if problem is not None:
                raise record_error(path, f"line {line}", *problem, hint)
            texts.append(f"{row[1]} {row[2]}")
            labels.append(int(row[0]) - 1)
    except csv.Error as exc:
        found = f"a CSV error ({exc})"
        raise record_error(path, f"line {reader.line_num}", _COLUMNS, found, hint) from None
    if not texts:
        raise record_error(path, None, f"rows of {_COLUMNS}", "an empty file", hint)
    return texts, np.asarray(labels, dtype=np.int64)


_COLUMNS = "3 columns (class index, title, description)"


def _row_problem(row: list[str], classes: Sequence[str]) -> tuple[str, str] | None:
    """(expected, found) for a row that is not `class,title,description`, else None."""
    if len(row) != 3:
        return _COLUMNS, f"{len(row)} ({shorten(row)})"
    index = row[0].strip()
    indices = f"1..{len(classes)} (one per class: {', '.join(classes)})"
    if not index.isdecimal():  # the digits int() reads
        return f"an integer class index {indices} in column 1", shorten(row[0])
    if not 1 <= int(index) <= len(classes):
        return f"a class index in {indices}", index
    if not (row[1].strip() or row[2].strip()):
        return "a title or a description", "both blank"
    return None


def _read_classes(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return AG_NEWS_CLASSES
    names = tuple(n.strip() for n in read_lines(path, _hint(path.parent)))
    names = tuple(n for n in names if n)
    if not names:
        raise record_error(path, None, "one class name a line", "no names", _hint(path.parent))
    return names


def _hint(root: Path) -> str:
    return (
        f"{root}/{{train.csv,test.csv,classes.txt}} (the ag_news_csv release; test.csv alone is "
        f"split in two) or generate a small one: python -m training.data.generate ag_news {root}"
    )
