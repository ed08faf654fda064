"""Similarities: pairwise and rowwise forms agree with their formulas."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.core import (
    BilinearSimilarity,
    cosine_similarity,
    dot_similarity,
    neg_squared_euclidean,
    pairwise_similarity,
    resolve_similarity,
)


def test_pairwise_formulas() -> None:
    a, b = torch.randn(4, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(cosine_similarity(a, b), F.cosine_similarity(a[:, None], b[None], dim=-1))
    torch.testing.assert_close(dot_similarity(a, b), torch.einsum("nd,md->nm", a, b))
    torch.testing.assert_close(neg_squared_euclidean(a, b), -torch.cdist(a, b) ** 2)


@pytest.mark.parametrize("name", ["cosine", "dot", "neg_sq_euclidean"])
def test_rowwise_equals_diagonal_of_pairwise(name: str) -> None:
    sim = resolve_similarity(name)
    q, c = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 6, 3, dtype=torch.float64)
    row = sim.rowwise(q, c)
    for i in range(4):
        torch.testing.assert_close(row[i], sim.pairwise(q[i : i + 1], c[i])[0])


def test_bilinear_is_q_w_k() -> None:
    sim = BilinearSimilarity(3, init="random").double()
    q, k = torch.randn(2, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    torch.testing.assert_close(sim(q, k), q @ sim.W @ k.T)
    assert torch.equal(BilinearSimilarity(3).W, torch.eye(3))
    assert repr(BilinearSimilarity(3)) == "BilinearSimilarity(dim=3, init='identity')"


def test_callable_similarity_rowwise_via_vmap() -> None:
    sim = resolve_similarity(lambda a, b: a @ b.T)
    q, c = torch.randn(3, 2), torch.randn(3, 4, 2)
    torch.testing.assert_close(sim.rowwise(q, c), torch.einsum("bd,bkd->bk", q, c))


def test_errors() -> None:
    with pytest.raises(ValueError, match="similarity"):
        resolve_similarity("l1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="embedding size"):
        pairwise_similarity(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match="init"):
        BilinearSimilarity(3, init="zeros")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim must be a positive int; got 3.5"):
        BilinearSimilarity(3.5)  # type: ignore[arg-type]


def test_mixed_dtypes_and_a_wrong_bilinear_size_are_named() -> None:
    # Both failed inside a matmul ("expected m1 and m2 to have the same dtype", "mat1 and mat2 shapes").
    a = torch.randn(4, 3)
    with pytest.raises(TypeError, match="b and a must share dtype and device"):
        pairwise_similarity(a, a.double())
    with pytest.raises(ValueError, match=r"BilinearSimilarity: inputs must have embedding size D=5"):
        BilinearSimilarity(5).pairwise(a, a)
    with pytest.raises(ValueError, match=r"BilinearSimilarity: inputs must have embedding size D=5"):
        BilinearSimilarity(5).rowwise(a, a[:, None])
