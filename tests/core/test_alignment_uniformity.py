"""Alignment and uniformity against their definitions."""

from __future__ import annotations

import pytest
import references as ref
import torch

from contrastkit.core import alignment, uniformity


def test_match_reference() -> None:
    x, y = torch.randn(9, 4, dtype=torch.float64), torch.randn(9, 4, dtype=torch.float64)
    assert alignment(x, y).item() == pytest.approx(ref.alignment(x, y), rel=1e-9)
    assert alignment(x, y, alpha=1.0).item() == pytest.approx(ref.alignment(x, y, 1.0), rel=1e-6)
    assert uniformity(x).item() == pytest.approx(ref.uniformity(x), rel=1e-9)


def test_uniformity_is_finite_when_every_point_collapses() -> None:
    x = torch.ones(6, 3, requires_grad=True)
    u = uniformity(x, t=1e4)
    u.backward()
    assert u.item() == pytest.approx(0.0, abs=1e-6) and torch.isfinite(x.grad).all()


def test_gradcheck() -> None:
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: alignment(a, b) + uniformity(a), (x, y))
