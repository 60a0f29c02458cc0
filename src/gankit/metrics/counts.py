"""Count tables shared by the metrics that compare two labellings (clusters against labels, source classes against
the classes read on translations)."""
from __future__ import annotations

import torch
from torch import Tensor


def count_table(rows: Tensor, cols: Tensor, n_rows: int, n_cols: int, dtype: torch.dtype = torch.long) -> Tensor:
    """table[i, j] = number of positions where rows == i and cols == j (on the CPU)."""
    table = torch.zeros(n_rows, n_cols, dtype=dtype)
    table.index_put_((rows.long().cpu(), cols.long().cpu()), torch.ones(len(rows), dtype=dtype), accumulate=True)
    return table
