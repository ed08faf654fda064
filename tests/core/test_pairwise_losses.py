"""Triplet, max-margin contrastive and N-pair losses against loops and pytorch-metric-learning."""

from __future__ import annotations

import pytest
import references as ref
import torch
from pytorch_metric_learning import distances, losses, reducers

from contrastkit.core import margin_contrastive, n_pair, triplet


def test_triplet_matches_reference_and_pml() -> None:
    a, p, n = (torch.randn(10, 4, dtype=torch.float64) for _ in range(3))
    got = triplet(a, p, n, margin=0.5).item()
    assert got == pytest.approx(ref.triplet(a, p, n, 0.5), rel=1e-9)
    emb = torch.cat([a, p, n])
    idx = torch.arange(10)
    raw_l2 = distances.LpDistance(normalize_embeddings=False)
    pml = losses.TripletMarginLoss(margin=0.5, distance=raw_l2, reducer=reducers.MeanReducer())
    assert got == pytest.approx(pml(emb, torch.zeros(30), indices_tuple=(idx, idx + 10, idx + 20)).item(), rel=1e-6)


def test_margin_contrastive_matches_reference_and_pml() -> None:
    x1, x2 = torch.randn(12, 4, dtype=torch.float64), torch.randn(12, 4, dtype=torch.float64)
    same = torch.arange(12) % 3 == 0
    got = margin_contrastive(x1, x2, same, neg_margin=3.0, power=2.0).item()
    assert got == pytest.approx(ref.margin_contrastive(x1, x2, same, 0.0, 3.0, 2.0), rel=1e-9)
    # PML's ContrastiveLoss (power 1) averages positive and negative pairs separately and adds them.
    per_pair = margin_contrastive(x1, x2, same, pos_margin=0.1, neg_margin=3.0, power=1.0, reduction="none")
    expected = per_pair[same].mean() + per_pair[~same].mean()
    emb = torch.cat([x1, x2])
    i = torch.arange(12)
    raw_l2 = distances.LpDistance(normalize_embeddings=False)
    pml = losses.ContrastiveLoss(pos_margin=0.1, neg_margin=3.0, distance=raw_l2, reducer=reducers.MeanReducer())
    got_pml = pml(emb, torch.zeros(24), indices_tuple=(i[same], i[same] + 12, i[~same], i[~same] + 12))
    assert expected.item() == pytest.approx(got_pml.item(), rel=1e-6)


@pytest.mark.parametrize("kind", ["euclidean", "cosine"])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_distances_and_swap_match_the_reference(kind: str, swap: bool) -> None:
    g = torch.Generator().manual_seed(5)
    a, p, n = (torch.randn(12, 4, dtype=torch.float64, generator=g) for _ in range(3))
    margin = 0.3 if kind == "cosine" else 1.0
    got = triplet(a, p, n, margin=margin, distance=kind, swap=swap).item()  # type: ignore[arg-type]
    assert got == pytest.approx(ref.triplet(a, p, n, margin, kind, swap), rel=1e-9)
    if swap:  # the swap changes the value on these triplets, so the test tells the two apart
        assert got != pytest.approx(ref.triplet(a, p, n, margin, kind, False), rel=1e-6)
    for t in (a, p, n):
        t.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, y, z: triplet(x, y, z, margin=margin, distance=kind, swap=swap), (a, p, n)  # type: ignore[arg-type]
    )


def test_margin_contrastive_cosine_distance_matches_the_reference() -> None:
    g = torch.Generator().manual_seed(6)
    x1, x2 = (torch.randn(12, 4, dtype=torch.float64, generator=g) for _ in range(2))
    same = torch.arange(12) % 3 == 0
    got = margin_contrastive(x1, x2, same, pos_margin=0.1, neg_margin=0.8, distance="cosine").item()
    assert got == pytest.approx(ref.margin_contrastive(x1, x2, same, 0.1, 0.8, 2.0, "cosine"), rel=1e-9)


@pytest.mark.parametrize("l2_reg", [0.0, 0.02])
def test_n_pair_matches_reference(l2_reg: float) -> None:
    a, p = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    assert n_pair(a, p, l2_reg=l2_reg).item() == pytest.approx(ref.n_pair(a, p, l2_reg), rel=1e-9)


def test_gradchecks() -> None:
    a, p, n = (torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda x, y, z: triplet(x, y, z, margin=5.0), (a, p, n))
    same = torch.tensor([True, False, True, False])
    assert torch.autograd.gradcheck(lambda x, y: margin_contrastive(x, y, same, neg_margin=9.0), (a, p))
    assert torch.autograd.gradcheck(lambda x, y: n_pair(x, y, l2_reg=0.1), (a, p))


def test_identical_points_have_finite_gradients() -> None:
    a = torch.ones(3, 2, requires_grad=True)
    triplet(a, a.detach().clone(), torch.zeros(3, 2)).backward()
    assert torch.isfinite(a.grad).all()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="margin"):
        triplet(torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 3), margin=-1.0)
    with pytest.raises(TypeError, match="bool"):
        margin_contrastive(torch.randn(2, 3), torch.randn(2, 3), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="distance"):
        triplet(torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 3), distance="manhattan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2"):
        n_pair(torch.randn(1, 3), torch.randn(1, 3))
