"""Symile against the multilinear-inner-product formula; two modalities reduce to CLIP's loss."""

from __future__ import annotations

import pytest
import references as ref
import torch

from contrastkit.core import info_nce, multilinear_inner_product, symile


def test_mip() -> None:
    a, b, c = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    assert torch.allclose(multilinear_inner_product(a, b, c), (a * b * c).sum(-1))


@pytest.mark.parametrize("m", [2, 3, 4])
def test_matches_reference(m: int) -> None:
    xs = [torch.randn(5, 4, dtype=torch.float64) for _ in range(m)]
    assert symile(*xs, temperature=0.3).item() == pytest.approx(ref.symile(xs, 0.3), rel=1e-9)


def test_two_modalities_is_symmetric_info_nce() -> None:
    a, b = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    clip = 0.5 * (info_nce(a, b, temperature=0.3) + info_nce(b, a, temperature=0.3))
    assert symile(a, b, temperature=0.3).item() == pytest.approx(clip.item(), rel=1e-9)


def test_gradcheck_and_errors() -> None:
    xs = [torch.randn(3, 2, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    assert torch.autograd.gradcheck(lambda *t: symile(*t, temperature=0.5), tuple(xs))
    with pytest.raises(ValueError, match="at least 2 modalities"):
        symile(torch.randn(3, 2))
    with pytest.raises(ValueError, match="share"):
        symile(torch.randn(3, 2), torch.randn(3, 3))
    # Broadcasting [4, 8] against [1, 8] would silently score one row against every other.
    with pytest.raises(ValueError, match="one shape"):
        multilinear_inner_product(torch.randn(4, 8), torch.randn(1, 8), torch.randn(4, 8))


def test_mixed_dtypes_are_named() -> None:
    # Was "expected m1 and m2 to have the same dtype" from the logits' matmul.
    x = torch.randn(4, 3)
    with pytest.raises(TypeError, match=r"modalities\[2\] and modalities\[0\] must share dtype"):
        symile(x, x, x.double())
