r"""Paired bootstrap of the difference between two models scored on the same units (users, nodes, patients).

A benchmark that reports ``mean ± std over seeds`` says how much training noise moves a row, not
whether two rows differ: their per-unit scores are paired (the same test users), and a few test
users decide a small gap. :func:`paired_bootstrap` resamples both sources at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _scores(name: str, x: Any) -> np.ndarray:
    try:
        arr = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"paired_bootstrap: {name} must be numeric [S, N] scores; {exc}") from None
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(f"paired_bootstrap: {name} must be [S, N] scores (S >= 1 seeds, N >= 2 units); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"paired_bootstrap: {name} holds NaN or inf.")
    return arr


def paired_bootstrap(
    a: Any, b: Any, *, n_boot: int = 10_000, confidence: float = 0.95, seed: int = 0, chunk: int = 1_000
) -> dict[str, float]:
    r"""Percentile bootstrap interval of ``mean(a) - mean(b)``, resampling units (paired) and seeds.

    ``a: [S_a, N]``, ``b: [S_b, N]``: one row per training seed, one column per unit (the same units
    in the same order in both; ``[N]`` is one seed). Each of ``n_boot`` replicates draws N units with
    replacement (the same draw for ``a`` and ``b``) and, independently for each model, ``S`` seeds
    with replacement:

    .. math:: \Delta^* = \frac{1}{N}\sum_{u \in U^*}\Big(\frac{1}{S_a}\sum_{s \in S_a^*} a_{su}
        - \frac{1}{S_b}\sum_{s \in S_b^*} b_{su}\Big)

    With few seeds the seed draw understates training noise (its variance is ``(S-1)/S`` of the
    sample variance, and S = 3 seeds give 10 distinct draws); read the interval as a lower bound on
    the uncertainty, not a test at exactly ``confidence``.

    Returns:
        ``gap`` (the observed ``mean(a) - mean(b)``), ``low`` and ``high`` (the central ``confidence``
        interval of :math:`\Delta^*`) and ``p_not_above`` (the fraction of replicates with
        :math:`\Delta^* \le 0`, a one-sided bootstrap p-value for "a is above b").
    """
    a_arr, b_arr = _scores("a", a), _scores("b", b)
    if a_arr.shape[1] != b_arr.shape[1]:
        raise ValueError(f"paired_bootstrap: a and b must score the same units; got N = {a_arr.shape[1]} and {b_arr.shape[1]}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"paired_bootstrap: n_boot must be an integer >= 100; got {n_boot!r}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"paired_bootstrap: confidence must be in (0, 1); got {confidence!r}.")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"paired_bootstrap: chunk must be a positive integer; got {chunk!r}.")
    n = a_arr.shape[1]
    rng = np.random.default_rng(seed)

    def counts(size: int, m: int) -> np.ndarray:
        """[m, size] multinomial counts: how often each of ``size`` rows or columns was drawn."""
        return rng.multinomial(size, np.full(size, 1 / size), size=m)

    gaps = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        # Seed-resampled per-unit means [m, N]: seed counts / S, times the scores.
        mean_a = counts(a_arr.shape[0], m) @ a_arr / a_arr.shape[0]
        mean_b = counts(b_arr.shape[0], m) @ b_arr / b_arr.shape[0]
        gaps[start : start + m] = (counts(n, m) * (mean_a - mean_b)).sum(1) / n
    tail = (1.0 - confidence) / 2
    return {
        "gap": float(a_arr.mean() - b_arr.mean()),
        "low": float(np.quantile(gaps, tail)),
        "high": float(np.quantile(gaps, 1.0 - tail)),
        "p_not_above": float((gaps <= 0).mean()),
    }
