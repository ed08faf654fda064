"""nt_xent: SimCLR Algorithm 1 exactly, the fused kernel equals the generic and tiled paths, PML agrees."""

from __future__ import annotations

import importlib

import pytest
import references as ref
import torch
from pytorch_metric_learning.losses import NTXentLoss

from contrastkit.core import NTXent, nt_xent

NT_XENT_MODULE = importlib.import_module("contrastkit.core.nt_xent")  # the package re-exports the function by that name


@pytest.mark.parametrize("n", [2, 3, 9])
@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
def test_matches_simclr_algorithm_1(n: int, tau: float) -> None:
    z1, z2 = torch.randn(n, 6, dtype=torch.float64), torch.randn(n, 6, dtype=torch.float64)
    assert nt_xent(z1, z2, temperature=tau).item() == pytest.approx(ref.nt_xent(z1, z2, tau), rel=1e-9)


def test_matches_pytorch_metric_learning() -> None:
    z1, z2 = torch.randn(16, 8, dtype=torch.float64), torch.randn(16, 8, dtype=torch.float64)
    labels = torch.arange(16).repeat(2)
    expected = NTXentLoss(temperature=0.5)(torch.cat([z1, z2]), labels)
    assert nt_xent(z1, z2, temperature=0.5).item() == pytest.approx(expected.item(), rel=1e-9)


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_fused_generic_and_tiled_paths_agree_in_loss_and_gradients(chunk: int) -> None:
    z1 = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    fused = nt_xent(z1, z2, temperature=0.3)
    g_fused = torch.autograd.grad(fused, (z1, z2))
    tiled = nt_xent(z1, z2, temperature=0.3, chunk_size=chunk)
    g_tiled = torch.autograd.grad(tiled, (z1, z2))
    assert tiled.item() == pytest.approx(fused.item(), rel=1e-12)
    for a, b in zip(g_fused, g_tiled, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 5, 10**6])
def test_fused_kernel_is_exact_for_any_tile_height(rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # 10**6 rows is one tile for the whole matrix, as on a GPU for small batches.
    z1 = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    generic = nt_xent(z1, z2, temperature=0.3, chunk_size=18)
    g_generic = torch.autograd.grad(generic, (z1, z2))
    monkeypatch.setattr(NT_XENT_MODULE, "_tile_rows", lambda n2, device: rows)
    fused = nt_xent(z1, z2, temperature=0.3)
    g_fused = torch.autograd.grad(fused, (z1, z2))
    assert fused.item() == pytest.approx(generic.item(), rel=1e-12)
    for a, b in zip(g_generic, g_fused, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_tiles_are_cache_sized_on_the_cpu_and_launch_sized_on_a_gpu() -> None:
    tile_rows = NT_XENT_MODULE._tile_rows
    assert tile_rows(131072, torch.device("cpu")) == 256
    assert tile_rows(2048, torch.device("cuda")) == 2**27 // 2048  # the whole 2N x 2N matrix in one tile
    assert tile_rows(2**20, torch.device("cuda")) == 256  # never below the CPU's tile


def test_reduction_none_rows_follow_z1_then_z2() -> None:
    z1, z2 = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    per_row = nt_xent(z1, z2, reduction="none")
    assert per_row.shape == (8,)
    swapped = nt_xent(z2, z1, reduction="none")
    torch.testing.assert_close(per_row, torch.cat([swapped[4:], swapped[:4]]))


def test_gradcheck_fused_kernel_with_weighted_rows() -> None:
    z1 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.rand(6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a, b: (nt_xent(a, b, reduction="none") * w).sum(), (z1, z2))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_finite(dtype: torch.dtype) -> None:
    z1 = torch.randn(32, 16).to(dtype).requires_grad_()
    z2 = torch.randn(32, 16).to(dtype)
    loss = nt_xent(z1, z2, temperature=0.01)
    loss.backward()
    assert torch.isfinite(loss) and z1.grad is not None and torch.isfinite(z1.grad).all()
    assert z1.grad.dtype == dtype


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="temperature"):
        NTXent(temperature=0)
    with pytest.raises(ValueError, match="NTXent: chunk_size"):  # when built, not at the first batch
        NTXent(chunk_size=-1)
