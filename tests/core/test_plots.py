"""The embedding scatter: an exact principal-component projection, one panel per colouring."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.core import plot_embeddings, principal_components


def test_principal_components_recover_a_known_plane() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(300, generator=g, dtype=torch.float64), torch.randn(300, generator=g, dtype=torch.float64)
    a, b = a - a.mean(), b - b.mean()
    b = b - (a @ b) / (a @ a) * a  # uncorrelated in the sample, so the two directions are exactly principal
    basis = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))[0]
    x = 10 * a[:, None] * basis[:, 0] + 3 * b[:, None] * basis[:, 1] + 5.0
    y = principal_components(x)
    assert y.shape == (300, 2) and y.dtype == torch.float64
    # Up to the sign of each axis, PC 1 is the large direction and PC 2 the small one.
    for column, truth in ((0, 10 * a), (1, 3 * b)):
        assert torch.allclose(y[:, column].abs(), truth.abs(), atol=1e-9)


def test_principal_components_equal_the_covariance_eigenvectors_reference() -> None:
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    centred = x - x.mean(0)
    covariance = sum(torch.outer(row, row) for row in centred) / 49  # loop reference
    _, vectors = torch.linalg.eigh(covariance)
    reference = centred @ vectors[:, [3, 2]]  # eigh sorts ascending
    assert torch.allclose(principal_components(x).abs(), reference.abs(), atol=1e-10)


@pytest.mark.parametrize(
    ("x", "k", "match"),
    [(torch.zeros(1, 3), 2, "N >= 2"), (torch.zeros(4), 2, r"\[N, D\]"), (torch.zeros(4, 3), 4, "k must be"),
     (torch.tensor([[0.0, float("nan")], [1.0, 2.0]]), 1, "NaN")],
)
def test_principal_components_reject_bad_input(x: torch.Tensor, k: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        principal_components(x, k)


def test_plot_embeddings_writes_one_png_and_checks_its_colourings(tmp_path: Path) -> None:
    x = torch.randn(120, 8)
    groups = torch.arange(120) % 3
    plot_embeddings(x, {"label": groups, "cluster": groups.flip(0)}, tmp_path / "e.png", max_points=50, title="t")
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="at least one colouring"):
        plot_embeddings(x, {}, tmp_path / "f.png")
    with pytest.raises(ValueError, match=r"colouring 'label' has shape \(119,\)"):
        plot_embeddings(x, {"label": groups[:-1]}, tmp_path / "f.png")
