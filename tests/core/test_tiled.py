"""Tiled (chunk_size) InfoNCE: the same loss and the same gradients as dense, in every mode."""

from __future__ import annotations

import pytest
import torch

from contrastkit.core import BilinearSimilarity, group_mask, info_nce, tiled_negative_lse


def _grads(fn, *tensors):  # type: ignore[no-untyped-def]
    loss = fn(*tensors)
    return loss, torch.autograd.grad(loss, tensors)


CASES = {
    "in_batch": lambda q, k, c: info_nce(q, k, temperature=0.2, chunk_size=c),
    "dot": lambda q, k, c: info_nce(q, k, temperature=0.7, similarity="dot", chunk_size=c),
    "pos_mask": lambda q, k, c: info_nce(
        q, k, pos_mask=group_mask(torch.arange(q.shape[0]) // 3), temperature=0.2, chunk_size=c
    ),
    "neg_mask": lambda q, k, c: info_nce(
        q, k, neg_mask=~group_mask(torch.arange(q.shape[0]) % 4) | torch.eye(q.shape[0], dtype=torch.bool),
        temperature=0.2, chunk_size=c,
    ),
    "queue": lambda q, k, c: info_nce(q, k, torch.linspace(-1, 1, 13 * q.shape[1], dtype=q.dtype).view(13, -1),
                                      temperature=0.2, chunk_size=c),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("chunk", [1, 4, 100])
def test_tiled_equals_dense(case: str, chunk: int) -> None:
    q = torch.randn(10, 6, dtype=torch.float64, requires_grad=True)
    k = torch.randn(10, 6, dtype=torch.float64, requires_grad=True)
    fn = CASES[case]
    dense, g_dense = _grads(lambda a, b: fn(a, b, None), q, k)
    tiled, g_tiled = _grads(lambda a, b: fn(a, b, chunk), q, k)
    assert tiled.item() == pytest.approx(dense.item(), rel=1e-12)
    for a, b in zip(g_dense, g_tiled, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_tiled_bilinear_equals_dense_including_w_gradient() -> None:
    sim = BilinearSimilarity(5, init="random").double()
    q = torch.randn(9, 5, dtype=torch.float64, requires_grad=True)
    k = torch.randn(9, 5, dtype=torch.float64)
    dense = info_nce(q, k, similarity=sim, temperature=1.0)
    gd = torch.autograd.grad(dense, (q, sim.W))
    tiled = info_nce(q, k, similarity=sim, temperature=1.0, chunk_size=2)
    gt = torch.autograd.grad(tiled, (q, sim.W))
    assert tiled.item() == pytest.approx(dense.item(), rel=1e-12)
    for a, b in zip(gd, gt, strict=True):
        torch.testing.assert_close(a, b)


def test_gradcheck_tiled_function_with_mask_and_exclusions() -> None:
    q = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(5, 7) > 0.3
    exclude = torch.tensor([[0], [1], [2], [3], [4]])
    assert torch.autograd.gradcheck(lambda a, b: tiled_negative_lse(a, b, 2.0, 2, mask, exclude), (q, c))
    with pytest.raises(ValueError, match="chunk must be a positive int; got 0"):
        tiled_negative_lse(q, c, 2.0, 0)


def test_rows_without_negatives_give_zero_loss_not_nan() -> None:
    q = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    k = torch.randn(4, 3, dtype=torch.float64)
    everyone_positive = torch.ones(4, 4, dtype=torch.bool)
    loss = info_nce(q, k, pos_mask=everyone_positive, chunk_size=2)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(q.grad).all()


def test_bad_input_is_named() -> None:
    q, c = torch.randn(4, 3), torch.randn(5, 3)
    # A NaN scale gave NaN, a [B, 1] mask broadcast silently, the rest failed deep inside torch.
    with pytest.raises(ValueError, match="scale must be finite and > 0; got nan"):
        tiled_negative_lse(q, c, float("nan"), 2)
    with pytest.raises(ValueError, match=r"neg_mask must have shape \(4, 5\); got \(4, 1\)"):
        tiled_negative_lse(q, c, 1.0, 2, neg_mask=torch.ones(4, 1, dtype=torch.bool))
    with pytest.raises(TypeError, match="neg_mask must be a bool tensor"):
        tiled_negative_lse(q, c, 1.0, 2, neg_mask=torch.ones(4, 5))
    with pytest.raises(ValueError, match="q and c must share the embedding size D"):
        tiled_negative_lse(q, torch.randn(5, 4), 1.0, 2)
    with pytest.raises(TypeError, match="c and q must share dtype"):
        tiled_negative_lse(q, c.double(), 1.0, 2)
    with pytest.raises(ValueError, match="exclude must be an integer"):
        tiled_negative_lse(q, c, 1.0, 2, exclude=torch.zeros(4, 1))
