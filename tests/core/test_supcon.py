"""supcon: Khosla et al. L^out, equal to pytorch-metric-learning's SupConLoss."""

from __future__ import annotations

import pytest
import references as ref
import torch
from pytorch_metric_learning.losses import SupConLoss

from contrastkit.core import SupCon, supcon


@pytest.mark.parametrize("tau", [0.07, 0.5])
def test_matches_reference_and_pml(tau: float) -> None:
    z = torch.randn(12, 5, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4])  # label 4 has no positive: skipped
    got = supcon(z, labels, temperature=tau).item()
    assert got == pytest.approx(ref.supcon(z, labels, tau), rel=1e-9)
    assert got == pytest.approx(SupConLoss(temperature=tau)(z, labels).item(), rel=1e-9)


def test_gradcheck() -> None:
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert torch.autograd.gradcheck(lambda x: supcon(x, labels, temperature=0.5), (z,))


def test_no_positive_pair_warns_and_returns_zero() -> None:
    z = torch.randn(4, 3, requires_grad=True)
    with pytest.warns(UserWarning, match="no two samples share a label"):
        loss = SupCon()(z, torch.arange(4))
    loss.backward()
    assert loss.item() == 0.0


def test_bad_labels() -> None:
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        supcon(torch.randn(4, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        supcon(torch.randn(4, 3), torch.zeros(4))
