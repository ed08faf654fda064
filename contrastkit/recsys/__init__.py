"""contrastkit.recsys: contrastive sequential recommendation (SASRec with CL4SRec, DuoRec, MCLRec).

From a pandas interaction log (``user_id``, ``item_id``, ``timestamp``) to a trained model with a
full-ranking evaluation (HR@K, NDCG@K over all items, no sampled negatives)::

    from contrastkit.recsys import build_sequences, leave_one_out, read_movielens, RecsysConfig, fit, recommend

    data = build_sequences(read_movielens("ml-latest-small"), min_interactions=5)
    split = leave_one_out(data, max_len=50)
    result = fit(split, RecsysConfig(model="duorec", loss="ce", epochs=20))
    result.test["ndcg@10"]
    recommend(result.model, data, [1, 260, 1196], k=10, exclude_seen=True)

Modules: ``data`` (readers, synthetic log, splits, training windows), ``models`` (SASRec),
``objectives`` (next-item losses, augmentations, CL4SRec / DuoRec / MCLRec), ``train`` (core
Trainer), ``evaluate`` (full ranking, serving), ``cli``.
"""

from __future__ import annotations

from .data import (
    Batch,
    EvalSplit,
    LeaveOneOut,
    SequenceData,
    WindowSampler,
    build_sequences,
    leave_one_out,
    left_pad,
    read_movielens,
    read_recbole_inter,
    synthetic_interactions,
    write_recbole_inter,
)
from .evaluate import evaluate, per_user_ndcg, ranking_metrics, recommend, split_ranks, target_ranks
from .models import Augmenter, SASRec
from .objectives import (
    CL4SRec,
    DuoRec,
    MCLRec,
    SequentialObjective,
    crop,
    margin_regulariser,
    mask_items,
    next_item_loss,
    random_augment,
    reorder,
    two_view_info_nce,
)
from .train import FitResult, RecsysConfig, build_objective, fit, load, save

__all__ = [
    "Augmenter",
    "Batch",
    "CL4SRec",
    "DuoRec",
    "EvalSplit",
    "FitResult",
    "LeaveOneOut",
    "MCLRec",
    "RecsysConfig",
    "SASRec",
    "SequenceData",
    "SequentialObjective",
    "WindowSampler",
    "build_objective",
    "build_sequences",
    "crop",
    "evaluate",
    "fit",
    "left_pad",
    "leave_one_out",
    "load",
    "margin_regulariser",
    "mask_items",
    "next_item_loss",
    "per_user_ndcg",
    "random_augment",
    "ranking_metrics",
    "read_movielens",
    "read_recbole_inter",
    "recommend",
    "reorder",
    "save",
    "split_ranks",
    "synthetic_interactions",
    "target_ranks",
    "two_view_info_nce",
    "write_recbole_inter",
]
