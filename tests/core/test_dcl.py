"""DCL and DCLW against the paper's formula."""

from __future__ import annotations

import math

import pytest
import references as ref
import torch
import torch.nn.functional as F

from contrastkit.core import dcl, nt_xent, von_mises_fisher_weight


@pytest.mark.parametrize("weighted", [False, True])
def test_matches_reference(weighted: bool) -> None:
    z1, z2 = torch.randn(7, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    weights = ref.vmf_weights(z1, z2, 0.5) if weighted else None
    got = dcl(z1, z2, temperature=0.2, weighted=weighted).item()
    assert got == pytest.approx(ref.dcl(z1, z2, 0.2, weights), rel=1e-9)


def test_weights_average_to_one_and_carry_no_gradient() -> None:
    z1 = torch.randn(8, 4, requires_grad=True)
    w = von_mises_fisher_weight(z1, torch.randn(8, 4))
    assert w.mean().item() == pytest.approx(1.0, abs=1e-6)
    assert not w.requires_grad


@pytest.mark.parametrize("angle", [0.3, 1.2, 2.5])
def test_positive_pair_no_longer_in_denominator(angle: float) -> None:
    # In the batch z1 = [u, -u], z2 = [v, -v] every row has the same positive cos(u, v) = c and the same
    # negatives {-1, -c}. So DCL is -c/t + log(e^(-1/t) + e^(-c/t)), and NT-Xent, which keeps the positive
    # in its denominator, is log(1 + e^DCL) = softplus(DCL).
    t = 0.5
    u = torch.tensor([1.0, 0.0], dtype=torch.float64)
    v = torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
    z1, z2 = torch.stack([u, -u]), torch.stack([v, -v])
    c = math.cos(angle)
    loss = dcl(z1, z2, temperature=t)
    assert loss.item() == pytest.approx(-c / t + math.log(math.exp(-1 / t) + math.exp(-c / t)), rel=1e-12)
    assert nt_xent(z1, z2, temperature=t).item() == pytest.approx(F.softplus(loss).item(), rel=1e-12)


def test_vmf_weight_rejects_a_bad_sigma_and_shapes() -> None:
    z = torch.randn(4, 3)
    for sigma in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="sigma must be finite and > 0"):
            von_mises_fisher_weight(z, z, sigma)
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        von_mises_fisher_weight(z[0], z[0])


def test_gradcheck() -> None:
    z1 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    # DCLW's weights are detached by design, so the finite-difference check runs on plain DCL.
    assert torch.autograd.gradcheck(lambda a, b: dcl(a, b), (z1, z2))
