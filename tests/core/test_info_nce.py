"""info_nce: matches the loop reference in every negative mode, dense == tiled, and fails loudly on bad input."""

from __future__ import annotations

import pytest
import references as ref
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from contrastkit.core import BilinearSimilarity, InfoNCE, group_mask, info_nce

torch.manual_seed(0)


def rand(*shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype)


@pytest.mark.parametrize("batch", [2, 5, 16])
@pytest.mark.parametrize("tau", [0.05, 0.1, 1.0])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_in_batch_matches_reference(batch: int, tau: float, similarity: str) -> None:
    q, k = rand(batch, 8), rand(batch, 8)
    sim = ref.cos if similarity == "cosine" else ref.dot
    expected = ref.info_nce(q, k, tau=tau, sim=sim)
    assert info_nce(q, k, temperature=tau, similarity=similarity).item() == pytest.approx(expected, rel=1e-6)


def test_neg_sq_euclidean_matches_reference() -> None:
    q, k = rand(6, 4), rand(6, 4)
    expected = ref.info_nce(q, k, tau=0.5, sim=lambda a, b: -ref.sq_dist(a, b))
    got = info_nce(q, k, temperature=0.5, similarity="neg_sq_euclidean")
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_custom_callable_similarity() -> None:
    q, k = rand(5, 4), rand(5, 4)
    got = info_nce(q, k, temperature=0.3, similarity=lambda a, b: a @ b.T)
    assert got.item() == pytest.approx(ref.info_nce(q, k, tau=0.3, sim=ref.dot), rel=1e-6)


def test_bilinear_similarity_matches_reference() -> None:
    q, k = rand(5, 4), rand(5, 4)
    bil = BilinearSimilarity(4, init="random").double()
    W = bil.W.detach().tolist()

    def qwk(a: list[float], b: list[float]) -> float:
        return sum(a[i] * W[i][j] * b[j] for i in range(4) for j in range(4))

    got = info_nce(q, k, temperature=1.0, similarity=bil)
    assert got.item() == pytest.approx(ref.info_nce(q, k, tau=1.0, sim=qwk), rel=1e-6)


def test_shared_negatives_queue_matches_reference() -> None:
    q, k, queue = rand(4, 6), rand(4, 6), rand(11, 6)
    assert info_nce(q, k, queue, temperature=0.2).item() == pytest.approx(
        ref.info_nce(q, k, queue, tau=0.2), rel=1e-6
    )


def test_per_query_negatives_match_reference() -> None:
    q, k, negs = rand(4, 6), rand(4, 6), rand(4, 3, 6)
    assert info_nce(q, k, negs, temperature=0.2).item() == pytest.approx(
        ref.info_nce(q, k, negs, tau=0.2), rel=1e-6
    )


def test_neg_mask_on_queue_drops_false_negatives() -> None:
    q, k, queue = rand(4, 6), rand(4, 6), rand(7, 6)
    mask = torch.rand(4, 7) > 0.4
    mask[:, 0] = True
    got = info_nce(q, k, queue, temperature=0.2, neg_mask=mask)
    assert got.item() == pytest.approx(ref.info_nce(q, k, queue, tau=0.2, neg_mask=mask.tolist()), rel=1e-6)


def test_pos_mask_several_positives_leave_the_denominator() -> None:
    q, k = rand(6, 5), rand(6, 5)
    ids = torch.tensor([0, 0, 1, 1, 1, 2])
    pos = group_mask(ids)
    got = info_nce(q, k, temperature=0.2, pos_mask=pos)
    assert got.item() == pytest.approx(ref.info_nce(q, k, tau=0.2, pos_mask=pos.tolist()), rel=1e-6)
    # With a single positive per row the mask form equals the default form.
    eye = torch.eye(6, dtype=torch.bool)
    assert info_nce(q, k, pos_mask=eye).item() == pytest.approx(info_nce(q, k).item(), rel=1e-9)


def test_pos_and_neg_mask_together() -> None:
    q, k = rand(5, 4), rand(5, 4)
    pos = torch.eye(5, dtype=torch.bool)
    neg = torch.rand(5, 5) > 0.3
    got = info_nce(q, k, temperature=0.4, pos_mask=pos, neg_mask=neg)
    expected = ref.info_nce(q, k, tau=0.4, pos_mask=pos.tolist(), neg_mask=neg.tolist())
    assert got.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("mode", ["in_batch", "shared", "per_query"])
def test_extra_negatives_are_added(mode: str) -> None:
    q, k, extra = rand(4, 6), rand(4, 6), rand(4, 2, 6)
    negs = {"in_batch": None, "shared": rand(5, 6), "per_query": rand(4, 3, 6)}[mode]
    got = info_nce(q, k, negs, extra_negatives=extra, temperature=0.3)
    assert got.item() == pytest.approx(ref.info_nce(q, k, negs, tau=0.3, extra=extra), rel=1e-6)


@pytest.mark.parametrize("chunk", [None, 3])
def test_in_batch_plus_shared_negatives(chunk: int | None) -> None:
    q, k, shared = rand(5, 4), rand(5, 4), rand(3, 4)
    got = info_nce(q, k, shared, in_batch=True, temperature=0.3, chunk_size=chunk)
    # Reference: every other key and every shared row is a negative of query i.
    expected = ref.info_nce(q, k, rand(0, 4), tau=0.3, extra=torch.stack(
        [torch.cat([k[torch.arange(5) != i], shared]) for i in range(5)]))
    assert got.item() == pytest.approx(expected, rel=1e-9)
    # A batch of one is fine once shared negatives exist.
    assert torch.isfinite(info_nce(q[:1], k[:1], shared, in_batch=True))
    with pytest.raises(ValueError, match="in_batch=True"):
        info_nce(q, k, in_batch=True)


def test_reduction_none_and_sum() -> None:
    q, k = rand(5, 4), rand(5, 4)
    per = info_nce(q, k, reduction="none")
    assert per.shape == (5,)
    assert info_nce(q, k, reduction="sum").item() == pytest.approx(per.sum().item())


def test_gradcheck_dense() -> None:
    q, k = rand(4, 3).requires_grad_(), rand(4, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, temperature=0.5), (q, k))
    queue = rand(6, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b, n: info_nce(a, b, n, temperature=0.5), (q, k, queue))


def test_gradcheck_per_query_negatives_masks_and_extra_negatives() -> None:
    q, k = rand(4, 3).requires_grad_(), rand(4, 3).requires_grad_()
    per_query, extra = rand(4, 2, 3).requires_grad_(), rand(4, 2, 3).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b, n, e: info_nce(a, b, n, extra_negatives=e, temperature=0.5), (q, k, per_query, extra)
    )
    pos = group_mask(torch.tensor([0, 0, 1, 2]))
    neg = torch.ones(4, 4, dtype=torch.bool)
    neg[0, 3] = False
    assert torch.autograd.gradcheck(
        lambda a, b: info_nce(a, b, temperature=0.5, pos_mask=pos, neg_mask=neg), (q, k)
    )


@pytest.mark.parametrize("similarity", ["neg_sq_euclidean", "bilinear"])
def test_gradcheck_other_similarities(similarity: str) -> None:
    q, k = rand(4, 3).requires_grad_(), rand(4, 3).requires_grad_()
    if similarity == "bilinear":
        bilinear = BilinearSimilarity(3, init="random").double()
        # The module's own W is the checked input: gradcheck perturbs it in place.
        assert torch.autograd.gradcheck(lambda a, b, _w: info_nce(a, b, similarity=bilinear), (q, k, bilinear.W))
    else:
        assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, temperature=2.0, similarity=similarity), (q, k))


def test_module_holds_bilinear_parameters() -> None:
    loss = InfoNCE(temperature=0.1, similarity=BilinearSimilarity(4))
    assert [n for n, _ in loss.named_parameters()] == ["similarity.W"]
    assert torch.isfinite(loss(torch.randn(3, 4), torch.randn(3, 4)))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.floats(0.05, 2.0), st.integers(0, 10_000))
def test_permuting_the_batch_leaves_the_mean_unchanged(batch: int, tau: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(batch, 5, generator=g, dtype=torch.float64), torch.randn(batch, 5, generator=g, dtype=torch.float64)
    perm = torch.randperm(batch, generator=g)
    a = info_nce(q, k, temperature=tau)
    b = info_nce(q[perm], k[perm], temperature=tau)
    assert a.item() == pytest.approx(b.item(), rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 100.0), st.floats(0.01, 100.0), st.integers(0, 10_000))
def test_cosine_is_invariant_to_positive_rescaling(sq: float, sk: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    assert info_nce(q * sq, k * sk).item() == pytest.approx(info_nce(q, k).item(), rel=1e-9)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("tau", [1e-4, 1e-2, 1e3])
def test_no_nan_for_extreme_temperature_and_half_precision(dtype: torch.dtype, tau: float) -> None:
    q = torch.randn(8, 16).to(dtype).requires_grad_()
    k = torch.randn(8, 16).to(dtype)
    loss = info_nce(q, k, temperature=tau)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(q.grad).all()


def test_no_nan_for_duplicate_and_zero_embeddings() -> None:
    q = torch.ones(4, 3, requires_grad=True)
    k = torch.zeros(4, 3)
    loss = info_nce(q, k)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(q.grad).all()
    assert loss.item() == pytest.approx(torch.log(torch.tensor(4.0)).item(), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"query": torch.randn(4, 3), "key": torch.randn(5, 3)}, ValueError, "same shape"),
        ({"query": torch.randn(4), "key": torch.randn(4)}, ValueError, r"\[N, D\]"),
        ({"query": torch.ones(4, 3, dtype=torch.long), "key": torch.ones(4, 3, dtype=torch.long)}, TypeError, "floating"),
        ({"query": torch.randn(1, 3), "key": torch.randn(1, 3)}, ValueError, "at least 2"),
        ({"query": torch.randn(0, 3), "key": torch.randn(0, 3)}, ValueError, "empty"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"temperature": float("nan")}, ValueError, "temperature"),
        ({"pos_mask": torch.zeros(4, 4, dtype=torch.bool)}, ValueError, "at least one True"),
        ({"pos_mask": torch.eye(4)}, TypeError, "bool"),
        ({"pos_mask": torch.eye(3, dtype=torch.bool)}, ValueError, "shape"),
        ({"negatives": torch.randn(5, 7)}, ValueError, "embedding size"),
        ({"negatives": torch.randn(3, 2, 3)}, ValueError, r"\[B, K, D\]"),
        ({"negatives": torch.randn(5, 3), "pos_mask": torch.eye(4, dtype=torch.bool)}, ValueError, "in-batch"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"chunk_size": True}, ValueError, "positive int"),
        ({"chunk_size": 2.0}, ValueError, "positive int"),
        ({"chunk_size": 2, "similarity": "neg_sq_euclidean"}, ValueError, "chunk_size"),
        ({"similarity": "manhattan"}, ValueError, "similarity"),
        ({"reduction": "avg"}, ValueError, "reduction"),
        # These failed inside a matmul / einsum / cross_entropy (or indexed a wrong-shaped logit matrix).
        ({"negatives": torch.randn(5, 3, dtype=torch.float64)}, TypeError, "negatives and query must share dtype"),
        ({"negatives": torch.randn(4, 2, 3, dtype=torch.float64)}, TypeError, "negatives and query must share"),
        ({"extra_negatives": torch.randn(4, 2, 3, dtype=torch.float64)}, TypeError, "extra_negatives and query"),
        ({"similarity": lambda a, b: (a * b).sum(-1)}, ValueError, r"to \[N, M\] = \(4, 4\); got \(4,\)"),
        ({"negatives": torch.randn(5, 3), "similarity": lambda a, b: a @ b[:2].T}, ValueError, r"got \(4, 2\)"),
        ({"similarity": BilinearSimilarity(5)}, ValueError, r"embedding size D=5 .* got shape \(4, 3\)"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs: dict, error: type, match: str) -> None:
    args = {"query": torch.randn(4, 3), "key": torch.randn(4, 3), **kwargs}
    with pytest.raises(error, match=match):
        info_nce(args.pop("query"), args.pop("key"), args.pop("negatives", None), **args)


def test_under_autocast_a_float32_queue_may_meet_half_precision_queries() -> None:
    """Mixed precision: queries come out of autocast in bfloat16 while a memory queue stays float32."""
    g = torch.Generator().manual_seed(0)
    q, k, queue = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g), torch.randn(16, 8, generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = info_nce(q.bfloat16(), k.bfloat16(), queue)
    assert torch.isfinite(loss)
    assert float(loss) == pytest.approx(float(info_nce(q, k, queue)), abs=0.05)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: InfoNCE(similarity="cosin"), "similarity must be"),
        (lambda: InfoNCE(chunk_size=0), "InfoNCE: chunk_size"),
        (lambda: InfoNCE(similarity=3), "similarity must be a name"),  # type: ignore[arg-type]
    ],
)
def test_the_module_refuses_bad_settings_when_built_not_at_the_first_batch(build, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        build()
