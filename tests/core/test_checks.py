"""The shared input rules, seen through every loss that takes a (query, key) pair."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from contrastkit.core import (
    alignment,
    cosine_similarity,
    dcl,
    debiased_info_nce,
    info_nce,
    margin_contrastive,
    mix_hard_negatives,
    n_pair,
    nt_xent,
    proto_nce,
    supcon,
    symile,
    triplet,
    uniformity,
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


FP16_ZERO_ROWS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "info_nce": lambda q, k: info_nce(q, k),
    "info_nce_chunked": lambda q, k: info_nce(q, k, chunk_size=2),
    "nt_xent": lambda q, k: nt_xent(q, k),
    "supcon": lambda q, k: supcon(torch.cat([q, k]), torch.tensor([0, 1, 2, 0, 1, 2])),
    "dcl": lambda q, k: dcl(q, k, weighted=True),
    "debiased_info_nce": lambda q, k: debiased_info_nce(q, k),
    "symile": lambda q, k: symile(q, k, q),
    "proto_nce": lambda q, k: proto_nce(q, [k], [torch.tensor([0, 1, 2])], [torch.ones(3)]),
    "alignment": lambda q, k: alignment(q, k),
    "uniformity": lambda q, k: uniformity(q),
    "triplet_cosine": lambda q, k: triplet(q, k, k, distance="cosine"),
    "triplet_euclidean": lambda q, k: triplet(q, q.detach(), k),
    "margin_contrastive": lambda q, k: margin_contrastive(q, q.detach(), torch.tensor([True, False, True])),
    "cosine_similarity": lambda q, k: cosine_similarity(q, k).sum(),
    "mix_hard_negatives": lambda q, k: mix_hard_negatives(q, k, n_hard=2, n_mix=2, n_mix_query=2).float().sum(),
}


@pytest.mark.parametrize("name", FP16_ZERO_ROWS)
def test_float16_zero_rows_give_no_nan(name: str) -> None:
    # eps=1e-8 (1e-12 for distances) rounds to 0 in float16: a zero row was normalised to 0/0 = NaN
    # and identical rows had a NaN distance gradient. bfloat16 and float32 were fine.
    q = torch.zeros(3, 4, dtype=torch.float16, requires_grad=True)
    k = torch.zeros(3, 4, dtype=torch.float16)
    loss = FP16_ZERO_ROWS[name](q, k)
    assert torch.isfinite(loss).all()
    if loss.requires_grad:
        loss.backward()
        assert torch.isfinite(q.grad).all()
