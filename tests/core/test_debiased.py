"""Debiased and hard-negative InfoNCE against the authors' formulas."""

from __future__ import annotations

import pytest
import references as ref
import torch

from contrastkit.core import debiased_info_nce, hard_negative_info_nce, info_nce


@pytest.mark.parametrize(("beta", "tau_plus"), [(0.0, 0.1), (1.0, 0.1), (0.5, 0.0), (2.0, 0.3)])
def test_matches_reference(beta: float, tau_plus: float) -> None:
    q, k = torch.randn(9, 5, dtype=torch.float64), torch.randn(9, 5, dtype=torch.float64)
    got = hard_negative_info_nce(q, k, temperature=0.5, beta=beta, tau_plus=tau_plus).item()
    assert got == pytest.approx(ref.hard_negative(q, k, 0.5, beta, tau_plus), rel=1e-9)


def test_reduces_to_info_nce_without_bias_correction() -> None:
    q, k = torch.randn(9, 5, dtype=torch.float64), torch.randn(9, 5, dtype=torch.float64)
    plain = info_nce(q, k, temperature=0.5).item()
    assert debiased_info_nce(q, k, temperature=0.5, tau_plus=0.0).item() == pytest.approx(plain, rel=1e-9)


def test_per_anchor_negative_count_follows_the_mask() -> None:
    q, k = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    mask = torch.ones(6, 6, dtype=torch.bool)
    mask[0, 1:4] = False  # anchor 0 keeps 2 negatives (N=2), the others keep 5
    got = debiased_info_nce(q, k, temperature=0.5, tau_plus=0.2, neg_mask=mask).item()
    assert got == pytest.approx(ref.hard_negative(q, k, 0.5, 0.0, 0.2, mask.tolist()), rel=1e-9)


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_the_negative_floor_matches_the_reference_and_its_gradients(beta: float) -> None:
    # Keys close to their queries and tau+ = 0.5: the bias-corrected negative mass of the first rows
    # falls below the floor N e^{-1/t}, so the max() takes the floor there and the estimate elsewhere.
    g = torch.Generator().manual_seed(3)
    q = torch.randn(6, 4, dtype=torch.float64, generator=g)
    k = torch.cat([q[:3] + 0.01 * torch.randn(3, 4, dtype=torch.float64, generator=g),
                   torch.randn(3, 4, dtype=torch.float64, generator=g)])
    tau, tau_plus = 0.5, 0.5
    s = torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(k, dim=-1).T / tau
    pos, negs = s.diagonal().exp(), s.exp().masked_fill(torch.eye(6, dtype=torch.bool), 0.0)
    weights = negs.pow(beta).masked_fill(torch.eye(6, dtype=torch.bool), 0.0)
    estimate = (5 * (weights * negs).sum(1) / weights.sum(1) - tau_plus * 5 * pos) / (1 - tau_plus)
    floored = estimate < 5 * torch.exp(torch.tensor(-1 / tau))
    assert floored.any() and not floored.all()  # both branches of the max are taken
    got = hard_negative_info_nce(q, k, temperature=tau, beta=beta, tau_plus=tau_plus).item()
    assert got == pytest.approx(ref.hard_negative(q, k, tau, beta, tau_plus), rel=1e-9)
    q.requires_grad_(True)
    k.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b: hard_negative_info_nce(a, b, temperature=tau, beta=beta, tau_plus=tau_plus), (q, k)
    )


def test_gradcheck_and_extreme_temperature() -> None:
    q = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    k = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: hard_negative_info_nce(a, b, beta=1.0), (q, k))
    loss = hard_negative_info_nce(q.float(), k.float(), temperature=1e-3, beta=1.0)
    assert torch.isfinite(loss)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="tau_plus"):
        debiased_info_nce(torch.randn(3, 2), torch.randn(3, 2), tau_plus=1.0)
    with pytest.raises(ValueError, match="beta"):
        hard_negative_info_nce(torch.randn(3, 2), torch.randn(3, 2), beta=-1.0)


def test_a_similarity_of_the_wrong_shape_is_named() -> None:
    # Was an IndexError ("Dimension out of range") from .diagonal() deep in the loss.
    q, k = torch.randn(4, 3), torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"hard_negative_info_nce: the similarity .* got \(4,\)"):
        hard_negative_info_nce(q, k, similarity=lambda a, b: (a * b).sum(-1))
