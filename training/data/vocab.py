"""A `basic_english` tokenizer and a vocabulary, with torchtext's documented behaviour.

torchtext is no longer importable with current torch, so these re-implement the two pieces the text
pipeline used (torchtext 0.18 `get_tokenizer("basic_english")`, `build_vocab_from_iterator`):

- `basic_english_tokenize`: lower-case, then in this order: `'` -> ` '  `, `"` removed,
  `.` -> ` . `, `<br />` -> space, `,` -> ` , `, `(` -> ` ( `, `)` -> ` ) `, `!` -> ` ! `,
  `?` -> ` ? `, `;` -> space, `:` -> space; split on whitespace.
- `build_vocab_from_iterator`: tokens sorted by descending frequency then lexicographically, tokens
  below `min_freq` dropped, `specials` placed first (in the given order); lookups of unknown tokens
  return the default index once one is set (`set_default_index`), else raise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Vocab", "basic_english_tokenize", "build_vocab_from_iterator"]

_RULES = [
    (re.compile(pattern), replacement)
    for pattern, replacement in [
        (r"\'", " '  "),
        (r"\"", ""),
        (r"\.", " . "),
        (r"<br \/>", " "),
        (r",", " , "),
        (r"\(", " ( "),
        (r"\)", " ) "),
        (r"\!", " ! "),
        (r"\?", " ? "),
        (r"\;", " "),
        (r"\:", " "),
        (r"\s+", " "),
    ]
]


def basic_english_tokenize(line: str) -> list[str]:
    """Tokenize like torchtext's `basic_english`.

    Example: `"You can't!"` -> `['you', 'can', "'", 't', '!']`.
    """
    line = line.lower()
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    return line.split()


class Vocab:
    """Token <-> index mapping (torchtext.vocab.Vocab's interface, in plain Python).

    Args:
        itos: the tokens, index i -> itos[i]; no duplicates.
        default_index: returned for unknown tokens; None makes unknown tokens an error.
    """

    def __init__(self, itos: Sequence[str], default_index: int | None = None) -> None:
        self._itos = [str(t) for t in itos]
        self._stoi = {token: i for i, token in enumerate(self._itos)}
        if len(self._stoi) != len(self._itos):
            raise ValueError("duplicate tokens in vocabulary")
        self._default_index: int | None = None
        self.set_default_index(default_index)

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        index = self._stoi.get(token, self._default_index)
        if index is None:
            raise KeyError(f"token {token!r} is not in the vocabulary and no default index is set")
        return index

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        return self.lookup_indices(tokens)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self._itos == other._itos and self._default_index == other._default_index

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, default_index={self._default_index})"

    @property
    def itos(self) -> list[str]:
        """Index -> token (a copy)."""
        return list(self._itos)

    def get_itos(self) -> list[str]:
        return self.itos

    def get_stoi(self) -> dict[str, int]:
        return dict(self._stoi)

    def set_default_index(self, index: int | None) -> None:
        if index is not None and not 0 <= index < len(self._itos):
            raise ValueError(f"default index {index} outside the vocabulary (size {len(self)})")
        self._default_index = index

    def get_default_index(self) -> int | None:
        return self._default_index

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        """Indices of `tokens` (unknown ones -> the default index)."""
        return [self[t] for t in tokens]

    def lookup_token(self, index: int) -> str:
        return self._itos[index]

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        return [self._itos[i] for i in indices]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description: `{"itos": [...], "default_index": int | None}`."""
        return {"itos": list(self._itos), "default_index": self._default_index}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Inverse of `to_dict`."""
        return cls(data["itos"], data.get("default_index"))


def build_vocab_from_iterator(
    iterator: Iterable[Iterable[str]],
    min_freq: int = 1,
    specials: Sequence[str] | None = None,
    special_first: bool = True,
    max_tokens: int | None = None,
) -> Vocab:
    """Build a vocabulary from token lists, as torchtext's function of the same name.

    Args:
        iterator: yields one list of tokens per text.
        min_freq: a token needs at least this many occurrences.
        specials: tokens added in this order, whatever their counts.
        special_first: put the specials first (else last).
        max_tokens: at most this many tokens, specials included (most frequent first).

    Returns:
        Vocab without a default index (set one with `set_default_index`).
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq}")
    counter: Counter[str] = Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = list(specials or [])
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    if max_tokens is not None:
        if len(specials) >= max_tokens:
            raise ValueError(
                "len(specials) >= max_tokens: the vocabulary would hold only specials"
            )
        ordered = ordered[: max_tokens - len(specials)]
    special_set = set(specials)
    tokens = [t for t, freq in ordered if freq >= min_freq and t not in special_set]
    return Vocab(specials + tokens if special_first else tokens + specials)
