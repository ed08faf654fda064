r"""Full-ranking evaluation (every item is a candidate, no sampled negatives) and top-k serving.

The rank of the held-out item ``t`` among all ``I`` items counts ties against it:

.. math:: r = |\{i \ne t : s_i \ge s_t\}|, \qquad \mathrm{HR@K} = [r < K], \qquad
    \mathrm{NDCG@K} = \frac{[r < K]}{\log_2(r + 2)}

(a model that scores every item equally gets rank ``I - 1``, not 0). Nothing but padding (and the
mask token) is excluded from the candidates: items from the history stay rankable, since users
may consume an item again. ``evaluate(..., exclude=split.history("test"))`` ranks as RecBole's
full-sort evaluation does instead, with each user's earlier items removed from the candidates
(the held-out item stays one even if it was consumed before).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .data import EvalSplit, SequenceData
from .models import SASRec

KS: tuple[int, ...] = (5, 10, 20)


def target_ranks(scores: Tensor, targets: Tensor) -> Tensor:
    """Pessimistic 0-based rank of each target: ``scores [N, I]`` (column ``j`` = item ``j+1``), ``targets [N]`` -> ``[N]``."""
    target_score = scores.gather(1, (targets - 1)[:, None])  # (N, 1)
    return (scores >= target_score).sum(1) - 1


def ranking_metrics(ranks: Tensor, ks: Sequence[int] = KS) -> dict[str, float]:
    """``HR@K`` and ``NDCG@K`` (means over users) from 0-based ranks ``[N]``."""
    ranks = ranks.double()
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks < k
        out[f"hr@{k}"] = float(hit.double().mean())
        out[f"ndcg@{k}"] = float((hit.double() / torch.log2(ranks + 2)).mean())
    return out


def _exclude_items(scores: Tensor, targets: Tensor, items: Sequence[np.ndarray]) -> Tensor:
    """``scores [b, I]`` with each row's ``items`` (indices ``1..I``) set to ``-inf``, its target's score kept."""
    rows = np.concatenate([np.full(len(h), i, dtype=np.int64) for i, h in enumerate(items)])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in items]) - 1
    if cols.size and (cols.min() < 0 or cols.max() >= scores.shape[1]):
        raise ValueError(f"evaluate: exclude holds item indices outside 1..{scores.shape[1]}.")
    target_score = scores.gather(1, (targets - 1)[:, None])  # (b, 1)
    where = (torch.as_tensor(rows, device=scores.device), torch.as_tensor(cols, device=scores.device))
    scores = scores.index_put(where, scores.new_tensor(float("-inf")))
    return scores.scatter(1, (targets - 1)[:, None], target_score)


@torch.no_grad()
def evaluate(
    model: SASRec,
    split: EvalSplit,
    *,
    batch_size: int = 512,
    ks: Sequence[int] = KS,
    exclude: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """Full-ranking HR@K / NDCG@K of ``split.targets`` given ``split.inputs``, in batches on the model's device.

    Runs the model in eval mode (no dropout) and restores its mode afterwards.

    Args:
        model, split: the recommender and the users to rank for.
        batch_size: users per forward pass; ks: the cut-offs K.
        exclude: per user (same order as ``split``), item indices removed from the candidates
            (the target itself never is); None (default) ranks every item. Use
            :meth:`LeaveOneOut.history <contrastkit.recsys.data.LeaveOneOut.history>` to mask each
            user's history, RecBole's full-sort protocol.
    """
    if split.inputs.shape[0] == 0:
        raise ValueError("evaluate: the split has no users.")
    if exclude is not None and len(exclude) != split.inputs.shape[0]:
        raise ValueError(f"evaluate: exclude has {len(exclude)} users but the split {split.inputs.shape[0]}.")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    ranks = []
    for start in range(0, split.inputs.shape[0], batch_size):
        inputs = split.inputs[start : start + batch_size].to(device)
        targets = split.targets[start : start + batch_size].to(device)
        scores = model(inputs)  # (b, I)
        if exclude is not None:
            scores = _exclude_items(scores, targets, exclude[start : start + batch_size])
        ranks.append(target_ranks(scores, targets))
    model.train(was_training)
    return ranking_metrics(torch.cat(ranks), ks)


@torch.no_grad()
def recommend(
    model: SASRec, data: SequenceData, user_history: Sequence[object], k: int = 10, *, exclude_seen: bool = False
) -> list[object]:
    """Top-``k`` original item ids for a new history (original ids, oldest first).

    Args:
        model: a trained :class:`SASRec`.
        data: the :class:`SequenceData` the model was trained on (its id maps).
        user_history: the items the user consumed, in order; only the last ``model.max_len`` are read.
        k: how many items to return.
        exclude_seen: drop items of ``user_history`` from the recommendations.

    Raises:
        ValueError: on an empty history, ``k`` out of range, or item ids unknown to ``data``.
    """
    history = list(user_history)
    if not history:
        raise ValueError(
            "recommend: the history is empty; a sequential model needs at least one item. "
            "Fall back to popular items for new users."
        )
    available = data.n_items - (len(set(history)) if exclude_seen else 0)
    if not 1 <= k <= available:
        raise ValueError(f"recommend: k must be in [1, {available}] (items left to recommend); got {k}.")
    index = data.item_index(history)
    seq = torch.as_tensor(index[-model.max_len :], dtype=torch.long)[None]  # (1, <=L)
    was_training = model.training
    model.eval()
    scores = model(seq.to(next(model.parameters()).device))[0].cpu()  # (I,)
    model.train(was_training)
    if exclude_seen:
        scores[torch.as_tensor(np.unique(index) - 1)] = float("-inf")
    top = scores.topk(k).indices + 1
    return [data.item_ids[i] for i in top.tolist()]
