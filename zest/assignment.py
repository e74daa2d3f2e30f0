"""Assignments of the class columns of two signatures: the matchings class alignment uses.

Both take a cost matrix (rows: one signature's classes, columns: the other's) and return the matched
(row, column) pairs, min(rows, columns) of them.
"""

from __future__ import annotations

import numpy as np


def greedy(cost: np.ndarray) -> list[tuple[int, int]]:
    """Repeatedly take the global minimum pair and remove its row and column (ties: row-major)."""
    pairs, used_rows, used_cols = [], set(), set()
    for flat in np.argsort(cost, axis=None, kind="stable").tolist():
        r, c = divmod(flat, cost.shape[1])
        if r not in used_rows and c not in used_cols:
            pairs.append((r, c))
            used_rows.add(r)
            used_cols.add(c)
            if len(pairs) == min(cost.shape):
                break
    return pairs


def hungarian(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-total-cost assignment of the smaller side (shortest augmenting paths, O(n^2 m))."""
    if cost.shape[0] > cost.shape[1]:
        return [(r, c) for c, r in hungarian(cost.T)]
    n, m = cost.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)  # row and column potentials (1-based, 0 = virtual)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: row (1-based) assigned to column j
    for row in range(1, n + 1):
        owner[0], col = row, 0
        slack, via = np.full(m + 1, np.inf), np.zeros(m + 1, dtype=np.int64)
        done = np.zeros(m + 1, dtype=bool)
        while owner[col] != 0:
            done[col] = True
            r = owner[col]
            reduced = cost[r - 1] - u[r] - v[1:]  # (m,)
            better = ~done[1:] & (reduced < slack[1:])
            slack[1:][better], via[1:][better] = reduced[better], col
            free = np.flatnonzero(~done[1:]) + 1
            nxt = free[np.argmin(slack[free])]
            delta = slack[nxt]
            u[owner[done]] += delta
            v[done] -= delta
            slack[~done] -= delta
            col = nxt
        while col:  # augment along the path
            prev = via[col]
            owner[col] = owner[prev]
            col = prev
    return [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j]]
