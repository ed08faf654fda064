"""On a CUDA device every core loss computes the CPU float64 value and gradients; state follows the device.

Skipped where no CUDA device is present (CI has none): run ``pytest tests -k cuda`` on a GPU machine.
The float32 GPU results are compared with float64 CPU results of the same function, whose own
correctness the loop references in the other test files establish.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from test_training import batches, config, make_model, step
from torch import Tensor, nn

from contrastkit.core import (
    BilinearSimilarity,
    MemoryQueue,
    MomentumEncoder,
    Trainer,
    alignment,
    dcl,
    debiased_info_nce,
    group_mask,
    hard_negative_info_nce,
    info_nce,
    margin_contrastive,
    n_pair,
    nt_xent,
    proto_nce,
    supcon,
    symile,
    triplet,
    uniformity,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; CI has none")
CUDA = torch.device("cuda")
NT_XENT_MODULE = importlib.import_module("contrastkit.core.nt_xent")  # the package re-exports the function by that name
B, D = 48, 16
LABELS = torch.arange(B) % 5


def _on(device: torch.device, dtype: torch.dtype, fn: Callable[..., Tensor], inputs: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    xs = [x.to(device=device, dtype=dtype).requires_grad_() for x in inputs]
    loss = fn(*xs)
    return loss.detach().cpu().double(), [g.cpu().double() for g in torch.autograd.grad(loss, xs)]


def _assert_cuda_matches_cpu_float64(fn: Callable[..., Tensor], inputs: list[Tensor]) -> None:
    ref_loss, ref_grads = _on(torch.device("cpu"), torch.float64, fn, inputs)
    loss, grads = _on(CUDA, torch.float32, fn, inputs)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-4, atol=1e-5)
    for got, want in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-5)


def _labels(x: Tensor) -> Tensor:
    return LABELS.to(x.device)


# name -> (loss of the float tensors, number of [B, D] inputs)
CASES: dict[str, tuple[Callable[..., Tensor], int]] = {
    "info_nce": (lambda q, k: info_nce(q, k, temperature=0.2), 2),
    "info_nce tiled": (lambda q, k: info_nce(q, k, temperature=0.2, chunk_size=7), 2),
    "info_nce pos_mask tiled": (
        lambda q, k: info_nce(q, k, pos_mask=group_mask(_labels(q)), temperature=0.2, chunk_size=5), 2
    ),
    "info_nce shared negatives": (lambda q, k, n: info_nce(q, k, n, temperature=0.2), 3),
    "nt_xent": (lambda a, b: nt_xent(a, b, temperature=0.5), 2),
    "nt_xent tiled": (lambda a, b: nt_xent(a, b, temperature=0.5, chunk_size=9), 2),
    "supcon": (lambda z: supcon(z, _labels(z), temperature=0.1), 1),
    "dcl weighted": (lambda a, b: dcl(a, b, temperature=0.2, weighted=True), 2),
    "debiased": (lambda q, k: debiased_info_nce(q, k, temperature=0.5, tau_plus=0.1), 2),
    "hard negatives": (lambda q, k: hard_negative_info_nce(q, k, temperature=0.5, beta=1.0), 2),
    "triplet": (lambda a, p, n: triplet(a, p, n, margin=1.0), 3),
    "margin": (lambda a, b: margin_contrastive(a, b, _labels(a) < 2), 2),
    "n_pair": (lambda a, p: n_pair(a, p, l2_reg=0.01), 2),
    "alignment + uniformity": (lambda a, b: alignment(a, b) + uniformity(a), 2),
    "symile": (lambda a, b, c: symile(a, b, c, temperature=0.1), 3),
    "proto_nce": (
        lambda q, c: proto_nce(q, [c[:5]], [_labels(q)], [torch.full((5,), 0.5, device=q.device, dtype=q.dtype)]), 2
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_and_gradients_on_cuda_match_cpu_float64(name: str) -> None:
    fn, n_inputs = CASES[name]
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randn(B, D, generator=g, dtype=torch.float64) for _ in range(n_inputs)]
    _assert_cuda_matches_cpu_float64(fn, inputs)


def test_fused_nt_xent_over_several_gpu_tiles_matches_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NT_XENT_MODULE, "_GPU_TILE_ELEMENTS", 1)  # 256-row tiles: 600 rows take three
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randn(300, D, generator=g, dtype=torch.float64) for _ in range(2)]
    fn = CASES["nt_xent"][0]
    _assert_cuda_matches_cpu_float64(fn, inputs)


def test_bilinear_similarity_trains_its_w_on_cuda() -> None:
    sim = BilinearSimilarity(D, init="random").to(CUDA)
    q, k = torch.randn(B, D, device=CUDA), torch.randn(B, D, device=CUDA)
    dense = info_nce(q, k, similarity=sim, temperature=1.0)
    tiled = info_nce(q, k, similarity=sim, temperature=1.0, chunk_size=8)
    (gd,) = torch.autograd.grad(dense, sim.W)
    (gt,) = torch.autograd.grad(tiled, sim.W)
    torch.testing.assert_close(tiled, dense)
    torch.testing.assert_close(gt, gd)
    assert gd.device.type == "cuda"


def test_tiled_loss_peak_memory_on_cuda_is_far_below_dense() -> None:
    b = 8192
    q = torch.randn(b, 128, device=CUDA, requires_grad=True)
    k = torch.randn(b, 128, device=CUDA, requires_grad=True)

    def peak(chunk: int | None) -> tuple[float, Tensor]:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        loss = info_nce(q, k, temperature=0.2, chunk_size=chunk)
        loss.backward()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before, loss.detach()

    dense_peak, dense = peak(None)
    tiled_peak, tiled = peak(1024)
    torch.testing.assert_close(tiled, dense, rtol=1e-5, atol=1e-5)
    assert dense_peak > 4 * b * b  # at least one [B, B] float32 matrix
    assert tiled_peak < dense_peak / 4


def test_memory_queue_and_momentum_encoder_stay_on_cuda() -> None:
    queue = MemoryQueue(10, D).to(CUDA)
    queue.enqueue(torch.randn(6, D, device=CUDA), torch.arange(6, device=CUDA))
    queue.enqueue(torch.randn(6, D, device=CUDA))
    assert len(queue) == 10 and queue.negatives().device.type == "cuda"
    mask = queue.neg_mask(torch.tensor([2, 3], device=CUDA))
    # After the wrap, slots 0-1 hold id-less keys (negatives of all) and slot 2 still holds id 2.
    assert mask.shape == (2, 10) and not bool(mask[0, 2]) and bool(mask[0, 0]) and bool(mask[1, 2])
    online = nn.Linear(D, 4).to(CUDA)
    ema = MomentumEncoder(online, momentum=0.9)
    with torch.no_grad():
        online.weight.add_(1.0)
    expected = 0.9 * ema.encoder.weight.detach().clone() + 0.1 * online.weight.detach()
    ema.update(online)
    torch.testing.assert_close(ema.encoder.weight, expected)


def test_trainer_on_cuda_resumes_bit_for_bit(tmp_path: Path) -> None:
    # test_training's run; its step draws noise from the CUDA generator, whose state is checkpointed too.
    full = Trainer(make_model(), step, batches, config(None, 20, device="cuda")).fit()
    Trainer(make_model(), step, batches, config(tmp_path, 10, device="cuda")).fit()
    resumed = Trainer(make_model(), step, batches, config(tmp_path, 20, device="cuda")).fit()
    for a, b in zip(full.model.parameters(), resumed.model.parameters(), strict=True):
        assert a.device.type == "cuda"
        assert torch.equal(a, b)
