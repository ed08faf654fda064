"""Group masks, id encoding, top-k hard negatives and MoCHi mixing."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from contrastkit.core import encode_ids, gather_rows, group_mask, mix_hard_negatives, topk_hard_negatives


def test_group_mask_is_the_id_equality_matrix() -> None:
    ids = torch.tensor([3, 1, 3, 2])
    expected = [[ids[i].item() == ids[j].item() for j in range(4)] for i in range(4)]
    assert group_mask(ids).tolist() == expected
    assert group_mask(ids, torch.tensor([1, 1])).tolist() == [[False, False], [True, True], [False, False], [False, False]]


def test_encode_ids_maps_strings_once() -> None:
    codes = encode_ids(pd.Series(["p7", "p2", "p7", "p9"]))
    assert codes.tolist() == [0, 1, 0, 2]
    with pytest.raises(ValueError, match="missing"):
        encode_ids(["a", None])


def test_group_mask_rejects_float_and_2d_ids() -> None:
    with pytest.raises(TypeError, match="integer"):
        group_mask(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="1-D"):
        group_mask(torch.zeros(2, 2, dtype=torch.long))


def test_topk_hard_negatives_picks_the_most_similar_allowed() -> None:
    q = torch.tensor([[1.0, 0.0]])
    cands = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    exclude = torch.tensor([[True, False, False, False]])  # the positive itself
    negs, idx = topk_hard_negatives(q, cands, 2, exclude=exclude)
    assert idx.tolist() == [[1, 2]]
    torch.testing.assert_close(negs[0], cands[[1, 2]])
    with pytest.raises(ValueError, match="fewer than k"):
        topk_hard_negatives(q, cands, 4, exclude=exclude)
    with pytest.raises(ValueError, match="k must be a positive int; got 2.5"):
        topk_hard_negatives(q, cands, 2.5)  # type: ignore[arg-type]


def test_mix_hard_negatives_shapes_norms_and_convexity() -> None:
    g = torch.Generator().manual_seed(0)
    q, queue = torch.randn(3, 8, generator=g), torch.randn(50, 8, generator=g)
    mixed = mix_hard_negatives(q, queue, n_hard=10, n_mix=4, n_mix_query=2, generator=g)
    assert mixed.shape == (3, 6, 8) and not mixed.requires_grad
    torch.testing.assert_close(mixed.norm(dim=-1), torch.ones(3, 6))
    qn, kn = torch.nn.functional.normalize(q, dim=-1), torch.nn.functional.normalize(queue, dim=-1)
    hard_cos, hard_index = (qn @ kn.T).topk(10, dim=1)  # the 10 hard negatives of each query
    furthest = hard_cos[:, -1:]
    assert (furthest > 0).all()  # the precondition of the bound below
    # Convex mixes of hard negatives (and of the query) are at least as close to the query as the furthest
    # hard negative: a mix drawn from other negatives would fall below it.
    cos_query = (mixed * qn[:, None]).sum(-1)  # (3, 6)
    assert (cos_query >= furthest - 1e-6).all()
    # beta <= 0.5: a query mix is closer to its hard negative than to the query, (1 - 2 beta)(1 - c) >= 0.
    cos_hard = torch.einsum("bmd,bhd->bmh", mixed, kn[hard_index]).amax(-1)
    assert (cos_hard[:, 4:] >= cos_query[:, 4:] - 1e-6).all()


def test_gather_rows_is_indexing_with_a_backward_that_repeats_exactly() -> None:
    torch.manual_seed(0)
    x = torch.randn(300, 8, requires_grad=True)  # float32: sums in another order differ
    index = torch.randint(0, 300, (50, 400))  # many repeated rows: their gradients are summed
    upstream = torch.randn(50, 400, 8)
    assert torch.equal(gather_rows(x, index), x[index])
    (expected,) = torch.autograd.grad((x.double()[index] * upstream.double()).sum(), x)
    # Advanced indexing's backward sums repeated rows in a thread-dependent order on the CPU; with
    # two or more threads its result varies in the last bits from call to call. gather_rows' does not.
    threads = torch.get_num_threads()
    torch.set_num_threads(max(2, threads))
    try:
        grads = [torch.autograd.grad((gather_rows(x, index) * upstream).sum(), x)[0] for _ in range(4)]
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(grads[0], g) for g in grads[1:])
    torch.testing.assert_close(grads[0], expected.float())
    assert gather_rows(x, torch.tensor([[2, 2], [0, 1]])).shape == (2, 2, 8)


def test_bad_input_is_named() -> None:
    q, c = torch.randn(4, 3), torch.randn(6, 3)
    # Each of these failed inside torch (matmul dtype, torch.rand's size, index_select) or gave a message
    # without the dtype ("exclude must be bool (4, 6); got (4, 6)").
    with pytest.raises(TypeError, match="candidates and query must share dtype"):
        topk_hard_negatives(q, c.double(), 2)
    with pytest.raises(TypeError, match="exclude must be a bool tensor; got dtype torch.int64"):
        topk_hard_negatives(q, c, 2, exclude=torch.zeros(4, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="n_mix must be an int >= 0; got 1.5"):
        mix_hard_negatives(q, c, n_hard=2, n_mix=1.5, n_mix_query=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mix_hard_negatives: n_hard must be a positive int; got 2.5"):
        mix_hard_negatives(q, c, n_hard=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"gather_rows: index holds rows outside \[0, 6\).*got range \[0, 6\]"):
        gather_rows(c, torch.tensor([[0, 6]]))
    with pytest.raises(ValueError, match="outside"):
        gather_rows(c, torch.tensor([-1]))
