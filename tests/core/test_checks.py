"""The shared input rules, seen through every loss that takes a (query, key) pair."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from contrastkit.core import (
    alignment,
    dcl,
    debiased_info_nce,
    info_nce,
    margin_contrastive,
    n_pair,
    nt_xent,
    triplet,
)

PAIR_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "info_nce": lambda q, k: info_nce(q, k),
    "nt_xent": lambda q, k: nt_xent(q, k),
    "dcl": lambda q, k: dcl(q, k),
    "debiased_info_nce": lambda q, k: debiased_info_nce(q, k),
    "n_pair": lambda q, k: n_pair(q, k),
    "triplet": lambda q, k: triplet(q, k, k.flip(0)),
    "alignment": lambda q, k: alignment(q, k),
    "margin_contrastive": lambda q, k: margin_contrastive(q, k, torch.ones(q.shape[0], dtype=torch.bool)),
}


@pytest.mark.parametrize("name", PAIR_LOSSES)
def test_an_empty_batch_is_an_error_not_nan(name: str) -> None:
    with pytest.raises(ValueError, match="empty|at least"):
        PAIR_LOSSES[name](torch.randn(0, 4), torch.randn(0, 4))


@pytest.mark.parametrize("name", PAIR_LOSSES)
def test_mixed_dtypes_are_a_type_error_naming_both(name: str) -> None:
    # Some code paths would promote silently and others fail deep inside a matmul: one rule for all.
    with pytest.raises(TypeError, match="share dtype and device; got torch.float32 .* and torch.float64"):
        PAIR_LOSSES[name](torch.randn(3, 4), torch.randn(3, 4, dtype=torch.float64))


def test_margin_contrastive_rejects_a_nan_positive_margin() -> None:
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="pos_margin must be finite"):
        margin_contrastive(x, x, torch.ones(3, dtype=torch.bool), pos_margin=float("nan"))
