"""Similarities between embeddings.

Every similarity maps ``a: [N, D]`` and ``b: [M, D]`` to ``[N, M]`` (``pairwise``) and
``query: [B, D]`` with per-query candidates ``[B, K, D]`` to ``[B, K]`` (``rowwise``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from .checks import check_matrix_pair, check_positive_int, unit

SimilarityName = Literal["cosine", "dot", "neg_sq_euclidean"]


def cosine_similarity(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    r"""Cosine similarity :math:`s_{ij} = a_i^\top b_j / (\|a_i\|\|b_j\|)`. a: [N, D], b: [M, D] -> [N, M]."""
    return unit(a, eps) @ unit(b, eps).T


def dot_similarity(a: Tensor, b: Tensor) -> Tensor:
    r"""Inner product :math:`s_{ij} = a_i^\top b_j`. a: [N, D], b: [M, D] -> [N, M]."""
    return a @ b.T


def neg_squared_euclidean(a: Tensor, b: Tensor) -> Tensor:
    r"""Negative squared distance :math:`s_{ij} = -\|a_i - b_j\|^2`. a: [N, D], b: [M, D] -> [N, M]."""
    # Expanded form keeps memory O(NM) instead of O(NMD); clamp guards tiny negative round-off.
    sq = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(0) - 2.0 * (a @ b.T)
    return -sq.clamp_min(0.0)


@runtime_checkable
class Similarity(Protocol):
    """A similarity with a pairwise form and a per-query (rowwise) form."""

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor: ...

    def rowwise(self, query: Tensor, candidates: Tensor) -> Tensor: ...


class _Named:
    """Adapter giving a built-in similarity both forms, with closed-form rowwise versions."""

    def __init__(self, name: SimilarityName) -> None:
        self.name = name

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        if self.name == "cosine":
            return cosine_similarity(a, b)
        if self.name == "dot":
            return dot_similarity(a, b)
        return neg_squared_euclidean(a, b)

    def rowwise(self, query: Tensor, candidates: Tensor) -> Tensor:
        if self.name == "cosine":
            query = unit(query)
            candidates = unit(candidates)
        if self.name in ("cosine", "dot"):
            return torch.einsum("bd,bkd->bk", query, candidates)  # (B, K)
        return -((query.unsqueeze(1) - candidates) ** 2).sum(-1)  # (B, K)

    def __repr__(self) -> str:
        return f"Similarity({self.name!r})"


class _FromCallable:
    """Wraps a user function ``f(a [N, D], b [M, D]) -> [N, M]``; rowwise via vmap."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]) -> None:
        self.fn = fn

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        return self.fn(a, b)

    def rowwise(self, query: Tensor, candidates: Tensor) -> Tensor:
        def one(q: Tensor, c: Tensor) -> Tensor:
            return self.fn(q.unsqueeze(0), c).squeeze(0)

        return torch.vmap(one)(query, candidates)  # (B, K)

    def __repr__(self) -> str:
        return f"Similarity({getattr(self.fn, '__name__', repr(self.fn))})"


class BilinearSimilarity(nn.Module):
    r"""Learned bilinear similarity :math:`s(q, k) = q^\top W k` (CURL, Laskin et al. 2020).

    Args:
        dim: embedding size D.
        init: ``"identity"`` (W = I, starts as the dot product) or ``"random"`` (N(0, 1/D)).
            CURL's reference code uses ``torch.rand`` (uniform [0, 1)); pass ``"uniform"`` for that.

    Shapes:
        pairwise: a [N, D], b [M, D] -> [N, M]; rowwise: query [B, D], candidates [B, K, D] -> [B, K].
    """

    def __init__(self, dim: int, init: Literal["identity", "random", "uniform"] = "identity") -> None:
        super().__init__()
        check_positive_int("dim", dim, "BilinearSimilarity")
        if init not in ("identity", "random", "uniform"):
            raise ValueError(f"BilinearSimilarity: init must be identity, random or uniform; got {init!r}.")
        self.dim = dim
        self.init = init
        self.W = nn.Parameter(torch.empty(dim, dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.init == "identity":
                self.W.copy_(torch.eye(self.dim))
            elif self.init == "random":
                self.W.normal_(0.0, self.dim**-0.5)
            else:
                self.W.uniform_(0.0, 1.0)

    def check_dim(self, *xs: Tensor) -> None:
        """Every input's embedding size is this similarity's ``dim`` (W is ``[dim, dim]``)."""
        for x in xs:
            if x.shape[-1] != self.dim:
                raise ValueError(
                    f"BilinearSimilarity: inputs must have embedding size D={self.dim} (W is [{self.dim}, "
                    f"{self.dim}]); got shape {tuple(x.shape)}."
                )

    def pairwise(self, a: Tensor, b: Tensor) -> Tensor:
        self.check_dim(a, b)
        return a @ self.W @ b.T  # (N, M)

    def rowwise(self, query: Tensor, candidates: Tensor) -> Tensor:
        self.check_dim(query, candidates)
        return torch.einsum("bd,de,bke->bk", query, self.W, candidates)  # (B, K)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return self.pairwise(a, b)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, init={self.init!r}"


SimilarityLike = SimilarityName | Similarity | Callable[[Tensor, Tensor], Tensor]


def resolve_similarity(similarity: SimilarityLike) -> Similarity:
    """Turn a name, a :class:`Similarity` or a plain pairwise function into a :class:`Similarity`."""
    if isinstance(similarity, str):
        if similarity not in ("cosine", "dot", "neg_sq_euclidean"):
            raise ValueError(
                f"similarity must be 'cosine', 'dot', 'neg_sq_euclidean', a Similarity or a callable; "
                f"got {similarity!r}."
            )
        return _Named(similarity)
    if isinstance(similarity, Similarity):
        return similarity
    if callable(similarity):
        return _FromCallable(similarity)
    raise TypeError(f"similarity must be a name or a callable; got {type(similarity).__name__}.")


def scores(similarity: Similarity, query: Tensor, candidates: Tensor, where: str) -> Tensor:
    """``pairwise`` (candidates ``[M, D]`` -> ``[B, M]``) or ``rowwise`` (``[B, K, D]`` -> ``[B, K]``), refusing
    a result of another shape (a custom similarity that reduces or transposes) before it reaches a loss."""
    rowwise = candidates.dim() == 3
    out = similarity.rowwise(query, candidates) if rowwise else similarity.pairwise(query, candidates)
    expected = (query.shape[0], candidates.shape[1] if rowwise else candidates.shape[0])
    if not isinstance(out, Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        form = "[B, D] and [B, K, D] to [B, K]" if rowwise else "[N, D] and [M, D] to [N, M]"
        raise ValueError(f"{where}: the similarity {similarity!r} must map {form} = {expected}; got {got}.")
    return out


def pairwise_similarity(a: Tensor, b: Tensor, similarity: SimilarityLike = "cosine") -> Tensor:
    """Convenience: a [N, D], b [M, D] -> [N, M] under the given similarity."""
    check_matrix_pair("a", a, "b", b, "pairwise_similarity")
    return resolve_similarity(similarity).pairwise(a, b)
