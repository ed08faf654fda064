"""contrastkit.text: SimCSE-family sentence embeddings on sentence-transformers.

Losses are ordinary sentence-transformers losses (built with the model, ``forward(sentence_features,
labels)``) whose math is :func:`contrastkit.core.info_nce`: use them with ``SentenceTransformerTrainer``
or with :func:`fit` (the core training loop). Models load offline (:func:`load_model`); STS files,
text files and DataFrames are read by :mod:`contrastkit.text.data`; :func:`sts_spearman` evaluates.

Example:
    >>> from contrastkit.text import UnsupSimCSELoss, fit, load_model, read_sentences  # doctest: +SKIP
    >>> model = load_model(max_seq_length=32)  # doctest: +SKIP
    >>> fit(UnsupSimCSELoss(model), [read_sentences("corpus.txt")], TrainConfig(max_steps=100, lr=3e-5))  # doctest: +SKIP
"""

from __future__ import annotations

from .augment import repetition_index, word_repetition
from .data import (
    STS_FIELDS,
    SyntheticSTS,
    frame_columns,
    read_sentences,
    read_sts,
    sts_triples,
    synthetic_sts,
    unique_sentences,
)
from .evaluate import sts_evaluator, sts_spearman, sts_spearman_frame
from .models import default_model_path, embed, embed_frozen, load_model, repeat_batch
from .objectives import (
    DebiasedSimCSELoss,
    ESimCSELoss,
    SupSimCSELoss,
    UnsupSimCSELoss,
    contrast_with_shared_negatives,
    inverse_propensity_weights,
    token_dice,
)
from .train import METHODS, Method, build_loss, fit

__all__ = [
    "METHODS",
    "STS_FIELDS",
    "DebiasedSimCSELoss",
    "ESimCSELoss",
    "Method",
    "SupSimCSELoss",
    "SyntheticSTS",
    "UnsupSimCSELoss",
    "build_loss",
    "contrast_with_shared_negatives",
    "default_model_path",
    "embed",
    "embed_frozen",
    "fit",
    "frame_columns",
    "inverse_propensity_weights",
    "load_model",
    "read_sentences",
    "read_sts",
    "repeat_batch",
    "repetition_index",
    "sts_evaluator",
    "sts_spearman",
    "sts_spearman_frame",
    "sts_triples",
    "synthetic_sts",
    "token_dice",
    "unique_sentences",
    "word_repetition",
]
