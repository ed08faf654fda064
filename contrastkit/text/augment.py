"""Token-level augmentations of tokenized batches (sentence-transformers feature dicts)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor


def repetition_index(n_tokens: int, rate: float, rng: random.Random) -> list[int]:
    """ESimCSE word repetition (Wu et al. 2022, arXiv:2109.04380) as an index into one sequence.

    The sequence is ``[first, t_1 ... t_m, last]`` (``[CLS] ... [SEP]`` for BERT), ``m = n_tokens - 2``.
    ``dup = randint(0, max(2, floor(rate * m)))`` distinct content positions (at most m) are drawn
    and each is repeated in place, so ``"a b c"`` may become ``"a a b c c"``. The special first and
    last tokens are never repeated.

    Returns:
        Positions into the original sequence, length ``n_tokens + dup``.
    """
    content = list(range(1, n_tokens - 1))
    dup = min(len(content), rng.randint(0, max(2, int(rate * len(content)))))
    repeated = set(rng.sample(content, dup))
    index = [0]
    for i in content:
        index += [i, i] if i in repeated else [i]
    return index + [n_tokens - 1] if n_tokens > 1 else index


def word_repetition(
    features: Mapping[str, Any], *, rate: float = 0.32, max_length: int | None = None, seed: int | None = None
) -> dict[str, Any]:
    """Repeat a random subset of each sentence's tokens (see :func:`repetition_index`).

    Positives made this way no longer share the anchor's length, which removes the length cue that
    dropout-only positives give (ESimCSE's motivation).

    Args:
        features: a tokenized batch with ``input_ids`` and ``attention_mask`` ``[B, L]`` (right padding);
            every other ``[B, L]`` tensor (``token_type_ids``) is re-indexed the same way, anything
            else (``modality`` ...) is copied.
        rate: duplication rate (ESimCSE: 0.32), in [0, 1].
        max_length: cut longer results to this many tokens, keeping the last (``[SEP]``) token.
        seed: seed of the random draw (None: a fresh draw from python's ``random``).

    Returns:
        A new feature dict ``[B, L']``, padded on the right with 0 and ``attention_mask`` 0.

    Raises:
        ValueError: ``rate`` outside [0, 1], ``max_length < 2``, or missing ``input_ids``/``attention_mask``.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"word_repetition: rate must be in [0, 1]; got {rate}. ESimCSE uses 0.32.")
    if max_length is not None and max_length < 2:
        raise ValueError(
            f"word_repetition: max_length must be >= 2 (first and last token); got {max_length}."
        )
    if "input_ids" not in features or "attention_mask" not in features:
        raise ValueError(
            f"word_repetition: features need 'input_ids' and 'attention_mask'; got keys {sorted(features)}."
        )
    rng = random.Random(seed) if seed is not None else random.Random(random.getrandbits(64))
    mask: Tensor = features["attention_mask"]
    b, length = mask.shape
    if length > 1 and bool((mask[:, 1:] > mask[:, :-1]).any()):
        # Indices count from the first column, so a left-padded row would repeat its padding.
        raise ValueError(
            "word_repetition: the batch is not right-padded (a 0 in attention_mask before a 1); "
            "tokenize with padding_side='right' (sentence-transformers' default)."
        )
    lengths = mask.sum(1).tolist()
    indices = []
    for n in lengths:
        index = repetition_index(int(n), rate, rng)
        if max_length is not None and len(index) > max_length:
            index = index[: max_length - 1] + index[-1:]
        indices.append(index)
    new_len = max(len(i) for i in indices)
    gather = torch.zeros(b, new_len, dtype=torch.long, device=mask.device)
    valid = torch.zeros(b, new_len, dtype=torch.bool, device=mask.device)
    for row, index in enumerate(indices):
        gather[row, : len(index)] = torch.tensor(index, dtype=torch.long)
        valid[row, : len(index)] = True
    out: dict[str, Any] = {}
    for key, value in features.items():
        if isinstance(value, Tensor) and value.dim() == 2 and tuple(value.shape) == (b, length):
            out[key] = value.gather(1, gather).masked_fill(~valid, 0)  # (B, L')
        else:
            out[key] = value
    return out
