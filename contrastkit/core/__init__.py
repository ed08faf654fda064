"""contrastkit.core: contrastive objectives, similarities, negative handling and the training loop.

Pure tensor functions (``info_nce``, ``nt_xent``, ...) with thin ``nn.Module`` wrappers that only
hold hyper-parameters and state (``InfoNCE``, ``MemoryQueue``, ``MomentumEncoder``). The input checks
the losses share live in :mod:`contrastkit.core.checks` for domain packages to reuse.
"""

from __future__ import annotations

from .alignment_uniformity import alignment, uniformity
from .dcl import dcl, von_mises_fisher_weight
from .debiased import debiased_info_nce, hard_negative_info_nce
from .distributed import gather_no_grad, gather_with_grad, rank_offset
from .info_nce import InfoNCE, contrast, info_nce
from .memory import MemoryQueue, MomentumEncoder, momentum_update
from .negatives import encode_ids, gather_rows, group_mask, mix_hard_negatives, topk_hard_negatives
from .nt_xent import NTXent, nt_xent
from .pairwise_losses import margin_contrastive, n_pair, pair_distance, triplet
from .paths import data_root, read_csv, read_json, saved_settings
from .plots import plot_embeddings, principal_components
from .proto_nce import estimate_concentration, proto_nce
from .similarity import (
    BilinearSimilarity,
    Similarity,
    cosine_similarity,
    dot_similarity,
    neg_squared_euclidean,
    pairwise_similarity,
    resolve_similarity,
)
from .stats import paired_bootstrap
from .supcon import SupCon, supcon
from .symile import multilinear_inner_product, symile
from .tiled import tiled_negative_lse
from .training import (
    TrainConfig,
    Trainer,
    atomic_save,
    check_same_settings,
    data_fingerprint,
    load_saved,
    move_to,
    plot_history,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
)

__all__ = [
    "BilinearSimilarity",
    "InfoNCE",
    "MemoryQueue",
    "MomentumEncoder",
    "NTXent",
    "Similarity",
    "SupCon",
    "TrainConfig",
    "Trainer",
    "alignment",
    "atomic_save",
    "check_same_settings",
    "contrast",
    "cosine_similarity",
    "data_fingerprint",
    "data_root",
    "dcl",
    "debiased_info_nce",
    "dot_similarity",
    "encode_ids",
    "estimate_concentration",
    "gather_no_grad",
    "gather_rows",
    "gather_with_grad",
    "group_mask",
    "hard_negative_info_nce",
    "info_nce",
    "load_saved",
    "margin_contrastive",
    "mix_hard_negatives",
    "momentum_update",
    "move_to",
    "multilinear_inner_product",
    "n_pair",
    "neg_squared_euclidean",
    "nt_xent",
    "paired_bootstrap",
    "pair_distance",
    "pairwise_similarity",
    "plot_embeddings",
    "plot_history",
    "principal_components",
    "proto_nce",
    "rank_offset",
    "read_csv",
    "read_json",
    "resolve_device",
    "resolve_similarity",
    "rng_state",
    "saved_settings",
    "seed_everything",
    "set_rng_state",
    "supcon",
    "symile",
    "tiled_negative_lse",
    "topk_hard_negatives",
    "triplet",
    "uniformity",
    "von_mises_fisher_weight",
]
