"""LSTM text classifier on token ids.

Embedding (with `padding_idx`) -> LSTM -> linear layer on the final hidden state of the top layer
at each sequence's real length. Sequences are right-padded with `pad_index`; the real length is the
position of the last non-pad token, and the LSTM runs on packed sequences, so padding never reaches
the recurrent state: a text gives the same logits whatever it is padded to.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from core.errors import SettingsError

__all__ = ["LSTMClassifier", "real_lengths"]


def real_lengths(tokens: torch.Tensor, pad_index: int) -> torch.Tensor:
    """Length of each right-padded sequence: index of its last non-pad token + 1 (at least 1).

    Args:
        tokens: int64 (N, T).
        pad_index: the padding token id.

    Returns:
        int64 (N,) on the CPU (what `pack_padded_sequence` wants).
    """
    positions = torch.arange(1, tokens.shape[1] + 1, device=tokens.device)  # (T,)
    lengths = ((tokens != pad_index) * positions).amax(dim=1)  # (N,)
    return lengths.clamp(min=1).cpu()


class LSTMClassifier(nn.Module):
    """Token ids (N, T) -> logits (N, num_classes).

    Args:
        num_classes: number of outputs.
        vocab_size: number of token ids (the vocabulary incl. specials).
        embed_dim: embedding size.
        hidden_dim: LSTM hidden size.
        num_layers: stacked LSTM layers.
        pad_index: padding token id (its embedding is zero and gets no gradient).
    """

    def __init__(
        self,
        num_classes: int,
        vocab_size: int,
        embed_dim: int = 64,
        hidden_dim: int = 128,
        num_layers: int = 1,
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        if not 0 <= pad_index < vocab_size:
            raise SettingsError(
                f"pad_index {pad_index} outside the vocabulary (size {vocab_size})"
            )
        self.pad_index = pad_index
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = real_lengths(tokens, self.pad_index)  # (N,)
        embedded = self.embedding(tokens)  # (N, T, E)
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n: (layers, N, H), in the input's batch order
        return self.fc(h_n[-1])
