"""DCL and DCLW against the paper's formula."""

from __future__ import annotations

import pytest
import references as ref
import torch

from contrastkit.core import dcl, von_mises_fisher_weight


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


def test_positive_pair_no_longer_in_denominator() -> None:
    # Perfectly aligned views: NT-Xent keeps a positive-negative coupling, DCL's negative term does not
    # depend on the positive, so moving the positive closer lowers DCL by exactly the positive term.
    z = torch.randn(5, 3, dtype=torch.float64)
    assert dcl(z, z, temperature=1.0).item() == pytest.approx(ref.dcl(z, z, 1.0), rel=1e-9)


def test_gradcheck() -> None:
    z1 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    # DCLW's weights are detached by design, so the finite-difference check runs on plain DCL.
    assert torch.autograd.gradcheck(lambda a, b: dcl(a, b), (z1, z2))
