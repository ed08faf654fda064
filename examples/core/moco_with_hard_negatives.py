"""MoCo v2 in 40 lines with contrastkit.core: momentum key encoder, a queue of negatives with group
ids (false negatives masked), and MoCHi's synthetic hard negatives.

Run: python examples/core/moco_with_hard_negatives.py
"""

from __future__ import annotations

import torch
from torch import nn

from contrastkit.core import MemoryQueue, MomentumEncoder, info_nce, mix_hard_negatives

torch.manual_seed(0)
n_groups, dim = 50, 32
prototypes = torch.randn(n_groups, dim)
encoder = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(), nn.Linear(64, 16))
key_encoder = MomentumEncoder(encoder, momentum=0.99)
queue = MemoryQueue(1024, 16)
opt = torch.optim.AdamW(encoder.parameters(), lr=1e-3)

for step in range(300):
    groups = torch.randint(n_groups, (128,))
    x = prototypes[groups] + 0.5 * torch.randn(128, dim)
    q = encoder(x + 0.3 * torch.randn_like(x))  # (B, 16)
    k = key_encoder(x + 0.3 * torch.randn_like(x))  # (B, 16), no gradient
    negatives = queue.negatives()  # (n, 16)
    extra = mix_hard_negatives(q, negatives, n_hard=32, n_mix=8, n_mix_query=4) if len(queue) >= 64 else None
    loss = info_nce(
        q, k, negatives if len(queue) else None,
        extra_negatives=extra, temperature=0.2,
        neg_mask=queue.neg_mask(groups) if len(queue) else None,
    )
    opt.zero_grad()
    loss.backward()
    opt.step()
    key_encoder.update(encoder)
    queue.enqueue(k, ids=groups)
    if step % 50 == 0:
        print(f"step {step:3d}  loss {loss.item():.3f}  queue {len(queue)}")
