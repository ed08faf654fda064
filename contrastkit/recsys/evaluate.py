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
    """Pessimistic 0-based rank of each target: ``scores [N, I]`` (column ``j`` = item ``j+1``), ``targets [N]`` -> ``[N]``.

    Scores may be ``-inf`` (excluded items) but not NaN or ``+inf``, and a target's own score must be
    finite: a NaN compares false with everything and would rank its target first.
    """
    if scores.dim() != 2 or targets.shape != scores.shape[:1]:
        raise ValueError(f"target_ranks: need scores [N, I] and targets [N]; got {tuple(scores.shape)}, {tuple(targets.shape)}.")
    if targets.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"target_ranks: targets must be integer item indices; got {targets.dtype}.")
    if targets.numel() and (int(targets.min()) < 1 or int(targets.max()) > scores.shape[1]):
        raise ValueError(
            f"target_ranks: targets must be item indices in 1..{scores.shape[1]}; "
            f"got range [{int(targets.min())}, {int(targets.max())}]."
        )
    if bool(torch.isnan(scores).any() | torch.isposinf(scores).any()):
        raise ValueError("target_ranks: the scores hold NaN or +inf (a diverged model?); ranks would be meaningless.")
    target_score = scores.gather(1, (targets - 1)[:, None])  # (N, 1)
    if not bool(torch.isfinite(target_score).all()):
        raise ValueError("target_ranks: a target's own score is -inf (excluded); it cannot be ranked.")
    return (scores >= target_score).sum(1) - 1


def ranking_metrics(ranks: Tensor, ks: Sequence[int] = KS) -> dict[str, float]:
    """``HR@K`` and ``NDCG@K`` (means over users) from 0-based ranks ``[N]``."""
    if ranks.dim() != 1 or ranks.numel() == 0:
        raise ValueError(f"ranking_metrics: need a non-empty [N] tensor of ranks; got shape {tuple(ranks.shape)}.")
    if ranks.is_floating_point() or ranks.dtype == torch.bool or int(ranks.min()) < 0:
        raise ValueError("ranking_metrics: ranks must be 0-based integer ranks (>= 0).")
    if not ks or any(int(k) != k or k < 1 for k in ks):
        raise ValueError(f"ranking_metrics: ks must be positive integers; got {list(ks)}.")
    out: dict[str, float] = {}
    for k in ks:
        out[f"hr@{k}"] = float((ranks < k).double().mean())
        out[f"ndcg@{k}"] = float(per_user_ndcg(ranks, int(k)).mean())
    return out


def _exclude_items(scores: Tensor, targets: Tensor, items: Sequence[np.ndarray]) -> Tensor:
    """``scores [b, I]`` with each row's ``items`` (indices ``1..I``) set to ``-inf``, its target's score kept."""
    rows = np.concatenate([np.full(len(h), i, dtype=np.int64) for i, h in enumerate(items)])
    cols = np.concatenate([np.asarray(h, dtype=np.int64) for h in items]) - 1
    if cols.size and (cols.min() < 0 or cols.max() >= scores.shape[1]):
        raise ValueError(f"split_ranks: exclude holds item indices outside 1..{scores.shape[1]}.")
    target_score = scores.gather(1, (targets - 1)[:, None])  # (b, 1)
    where = (torch.as_tensor(rows, device=scores.device), torch.as_tensor(cols, device=scores.device))
    scores = scores.index_put(where, scores.new_tensor(float("-inf")))
    return scores.scatter(1, (targets - 1)[:, None], target_score)


def _check_item_range(model: SASRec, where: str, *tensors: Tensor) -> None:
    """Item indices must be padding (0) or ``1..model.n_items``: a split from other data would index out of range."""
    for t in tensors:
        if t.numel() and (int(t.min()) < 0 or int(t.max()) > model.n_items):
            raise ValueError(
                f"{where}: the split holds item indices up to {int(t.max())} but the model knows "
                f"1..{model.n_items}; was it built from the same SequenceData?"
            )


@torch.no_grad()
def split_ranks(
    model: SASRec,
    split: EvalSplit,
    *,
    batch_size: int = 512,
    exclude: Sequence[np.ndarray] | None = None,
) -> Tensor:
    """Pessimistic 0-based full-ranking rank of every user's held-out item: ``[N]`` (split order), on the CPU.

    Runs the model in eval mode (no dropout), ``batch_size`` users per forward pass on the model's
    device, and restores its mode afterwards. Per-user ranks are what a paired comparison of two
    models needs (:func:`contrastkit.core.paired_bootstrap` on :func:`per_user_ndcg`).

    Args:
        model, split: the recommender and the users to rank for.
        exclude: per user (same order as ``split``), item indices removed from the candidates
            (the target itself never is); None (default) ranks every item. Use
            :meth:`LeaveOneOut.history <contrastkit.recsys.data.LeaveOneOut.history>` to mask each
            user's history, RecBole's full-sort protocol.
    """
    if split.inputs.shape[0] == 0:
        raise ValueError("split_ranks: the split has no users.")
    if exclude is not None and len(exclude) != split.inputs.shape[0]:
        raise ValueError(f"split_ranks: exclude has {len(exclude)} users but the split {split.inputs.shape[0]}.")
    _check_item_range(model, "split_ranks", split.inputs, split.targets)
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
        ranks.append(target_ranks(scores, targets).cpu())
    model.train(was_training)
    return torch.cat(ranks)


def per_user_ndcg(ranks: Tensor, k: int = 10) -> Tensor:
    """NDCG@k of each user from 0-based ranks ``[N]``: ``[r < k] / log2(r + 2)``, float64 ``[N]``; its mean is ``ndcg@k``."""
    if ranks.dim() != 1 or ranks.is_floating_point() or ranks.dtype == torch.bool or (ranks.numel() and int(ranks.min()) < 0):
        raise ValueError(f"per_user_ndcg: need 0-based integer ranks [N]; got {ranks.dtype} of shape {tuple(ranks.shape)}.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"per_user_ndcg: k must be a positive integer; got {k!r}.")
    r = ranks.double()
    return (r < k).double() / torch.log2(r + 2)


def evaluate(
    model: SASRec,
    split: EvalSplit,
    *,
    batch_size: int = 512,
    ks: Sequence[int] = KS,
    exclude: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """Full-ranking HR@K / NDCG@K of ``split.targets`` given ``split.inputs``: :func:`ranking_metrics` of :func:`split_ranks`.

    Args:
        model, split: the recommender and the users to rank for.
        batch_size: users per forward pass; ks: the cut-offs K.
        exclude: per user, item indices removed from the candidates; see :func:`split_ranks`.
    """
    return ranking_metrics(split_ranks(model, split, batch_size=batch_size, exclude=exclude), ks)


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
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= available:
        raise ValueError(f"recommend: k must be in [1, {available}] (items left to recommend); got {k}.")
    if model.n_items != data.n_items:
        raise ValueError(
            f"recommend: the model scores {model.n_items} items but data maps {data.n_items}; "
            "pass the SequenceData the model was trained on."
        )
    index = data.item_index(history)
    seq = torch.as_tensor(index[-model.max_len :], dtype=torch.long)[None]  # (1, <=L)
    was_training = model.training
    model.eval()
    scores = model(seq.to(next(model.parameters()).device))[0].cpu()  # (I,)
    model.train(was_training)
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("recommend: the model's scores hold NaN or inf (a diverged model?).")
    if exclude_seen:
        scores[torch.as_tensor(np.unique(index) - 1)] = float("-inf")
    top = scores.topk(k).indices + 1
    return [data.item_ids[i] for i in top.tolist()]
