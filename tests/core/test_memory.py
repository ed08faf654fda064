"""MemoryQueue FIFO semantics with group ids, momentum (EMA) updates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.core import MemoryQueue, MomentumEncoder, info_nce, momentum_update


def test_queue_is_fifo_and_wraps() -> None:
    q = MemoryQueue(5, 2)
    assert len(q) == 0 and q.negatives().shape == (0, 2)
    q.enqueue(torch.arange(6.0).view(3, 2), ids=torch.tensor([0, 1, 2]))
    q.enqueue(torch.arange(6.0, 12.0).view(3, 2), ids=torch.tensor([3, 4, 5]))
    assert len(q) == 5
    # slots 0..4 hold rows 5(wrapped), 1, 2, 3, 4 of the 6 enqueued rows
    assert sorted(q.ids.tolist()) == [1, 2, 3, 4, 5]
    assert q.ids[0].item() == 5


def test_oversized_batch_keeps_newest_and_keys_are_detached() -> None:
    q = MemoryQueue(2, 1)
    keys = torch.arange(4.0).view(4, 1).requires_grad_()
    q.enqueue(keys)
    assert sorted(q.negatives().flatten().tolist()) == [2.0, 3.0]
    assert not q.negatives().requires_grad


def test_neg_mask_drops_same_group_entries() -> None:
    q = MemoryQueue(4, 2)
    q.enqueue(torch.randn(4, 2), ids=torch.tensor([7, 8, 7, 9]))
    mask = q.neg_mask(torch.tensor([7, 9]))
    assert mask.tolist() == [[False, True, False, True], [True, True, True, False]]
    loss = info_nce(torch.randn(2, 2), torch.randn(2, 2), q.negatives(), neg_mask=mask)
    assert torch.isfinite(loss)


def test_queue_is_saved_in_state_dict() -> None:
    q = MemoryQueue(3, 2)
    q.enqueue(torch.ones(2, 2))
    r = MemoryQueue(3, 2)
    r.load_state_dict(q.state_dict())
    assert len(r) == 2 and int(r.ptr) == 2


def test_queue_errors() -> None:
    with pytest.raises(ValueError, match="size must be a positive int; got 0"):
        MemoryQueue(0, 2)
    with pytest.raises(ValueError, match="dim must be a positive int; got 2.5"):
        MemoryQueue(3, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[B, 2\]"):
        MemoryQueue(3, 2).enqueue(torch.randn(2, 3))


def test_momentum_update_is_an_ema_and_copies_buffers() -> None:
    online = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    target = MomentumEncoder(online, momentum=0.9)
    before = [p.clone() for p in target.encoder.parameters()]
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
        online[1].running_mean.fill_(5.0)
    target.update(online)
    for b, t, o in zip(before, target.encoder.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(t, 0.9 * b + 0.1 * o)
    assert torch.equal(target.encoder[1].running_mean, torch.full((3,), 5.0))
    assert not any(p.requires_grad for p in target.parameters())
    out = target(torch.randn(4, 3))
    assert not out.requires_grad


def test_momentum_bounds() -> None:
    with pytest.raises(ValueError, match="momentum"):
        momentum_update(nn.Linear(1, 1), nn.Linear(1, 1), 1.5)


def test_queue_ids_are_checked() -> None:
    q = MemoryQueue(4, 2)
    with pytest.raises(TypeError, match="ids must be an integer tensor"):
        q.enqueue(torch.randn(2, 2), ids=torch.tensor([1.5, 2.0]))  # was an index_put dtype error
    # An id below -1 was stored and then treated as "no group": a same-group key stayed a negative.
    with pytest.raises(ValueError, match=r"ids must be >= 0 \(or -1"):
        q.enqueue(torch.randn(2, 2), ids=torch.tensor([-5, 3]))
    q.enqueue(torch.randn(2, 2), ids=torch.tensor([1, 2]))
    # A [B, 1] column broadcast to a [B, 1, n] mask; float ids were compared as floats.
    with pytest.raises(TypeError, match=r"query_ids must be a 1-D integer tensor \[B\]; got torch.int64 \(2, 1\)"):
        q.neg_mask(torch.tensor([[1], [2]]))
    with pytest.raises(TypeError, match="query_ids must be a 1-D integer tensor"):
        q.neg_mask(torch.tensor([1.0, 2.0]))


def test_momentum_update_of_another_architecture_leaves_the_target_untouched() -> None:
    target = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3))
    before = [p.clone() for p in target.parameters()]
    # The shapes failed in _foreach_add_, after _foreach_mul_ had already scaled the target by m.
    with pytest.raises(ValueError, match=r"parameter '1.weight' is \(3, 2\) in target but \(4, 2\)"):
        momentum_update(target, nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 4)), 0.5)
    assert all(torch.equal(a, b) for a, b in zip(before, target.parameters(), strict=True))
    # Buffers were zipped after the parameters had been updated.
    target = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, track_running_stats=False))
    before = [p.clone() for p in target.parameters()]
    with pytest.raises(ValueError, match="target has 0 buffers and online 3"):
        momentum_update(target, nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), 0.5)
    assert all(torch.equal(a, b) for a, b in zip(before, target.parameters(), strict=True))
