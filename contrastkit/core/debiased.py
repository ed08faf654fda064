"""Debiased (Chuang et al. 2020, arXiv:2007.00224) and hard-negative (Robinson et al. 2021,
arXiv:2010.04592) InfoNCE, in-batch."""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import acc, check_mask, check_min_batch, check_pair, check_positive, check_temperature
from .info_nce import _NEG_INF, linear_views
from .similarity import SimilarityLike, resolve_similarity, scores


def _debiased_negative_term(
    l_pos: Tensor, l_neg: Tensor, neg_mask: Tensor, tau_plus: float, beta: float, scale: float
) -> Tensor:
    r"""Per-query loss :math:`-\log \frac{e^{l^+}}{e^{l^+} + N g}` in log space.

    :math:`g = \max\{(\frac{1}{N}\sum_n w_n e^{l_n} - \tau^+ e^{l^+})/(1-\tau^+),\ e^{-1/\tau}\}` with
    importance weights :math:`w_n = N e^{\beta l_n} / \sum_m e^{\beta l_m}` (all 1 when beta = 0),
    and :math:`N` the number of negatives of that query.
    """
    n_neg = neg_mask.sum(1).to(l_neg.dtype)  # (B,)
    # log of (1/N) sum_n w_n e^{l_n} = logsumexp((1+beta) l) - logsumexp(beta l), over the negatives
    weighted = ((1.0 + beta) * l_neg).masked_fill(~neg_mask, _NEG_INF)
    base = (beta * l_neg).masked_fill(~neg_mask, _NEG_INF)
    log_mean_weighted = torch.logsumexp(weighted, dim=1) - torch.logsumexp(base, dim=1)
    shift = torch.maximum(log_mean_weighted, l_pos).detach()
    diff = (log_mean_weighted - shift).exp() - tau_plus * (l_pos - shift).exp()
    floor = torch.exp(-scale - shift)  # e^{-1/tau}: the smallest possible e^{l} for cosine similarity
    g = torch.maximum(diff / (1.0 - tau_plus), floor)
    # log(e^{l+} + N g) - l+ = log(e^{l+ - shift} + N g) + shift - l+
    return torch.log((l_pos - shift).exp() + n_neg * g) + shift - l_pos


def hard_negative_info_nce(
    query: Tensor,
    key: Tensor,
    *,
    temperature: float = 0.5,
    beta: float = 1.0,
    tau_plus: float = 0.1,
    neg_mask: Tensor | None = None,
    similarity: SimilarityLike = "cosine",
) -> Tensor:
    r"""Hard-negative InfoNCE: negatives reweighted by :math:`e^{\beta s/\tau}`, then debiased.

    .. math:: \ell_i = -\log \frac{e^{s_{ii}/\tau}}{e^{s_{ii}/\tau} + N \max\{
        \frac{\frac{1}{N}\sum_n w_n e^{s_{in}/\tau} - \tau^+ e^{s_{ii}/\tau}}{1-\tau^+}, e^{-1/\tau}\}},
        \quad w_n = \frac{N e^{\beta s_{in}/\tau}}{\sum_m e^{\beta s_{im}/\tau}}

    ``beta`` multiplies the *scaled* similarity, as in the authors' code (``imp = (beta * neg.log()).exp()``).
    ``beta=0`` gives :func:`debiased_info_nce`; ``beta=0, tau_plus=0`` gives plain InfoNCE.

    Args:
        query, key: ``[B, D]``; key i is the positive of query i, other keys are negatives.
        beta: concentration on hard negatives, >= 0.
        tau_plus: class prior :math:`\tau^+ \in [0, 1)`: probability that a negative is a false negative.
        neg_mask: ``[B, B]`` bool, True where key j is a negative of query i (default: j != i).
            The per-query negative count N follows this mask.
    """
    where = "hard_negative_info_nce"
    check_pair(query, key, where)
    check_temperature(temperature, where)
    check_positive("beta", beta, where, allow_zero=True)
    if not 0.0 <= tau_plus < 1.0:
        raise ValueError(f"{where}: tau_plus must be in [0, 1); got {tau_plus}.")
    b = query.shape[0]
    check_min_batch(b, where)
    sim = resolve_similarity(similarity)
    views = linear_views(sim, query, key)
    s = (views[0] @ views[1].T) if views is not None else scores(sim, query, key, where)
    logits = acc(s) / temperature  # (B, B)
    eye = torch.eye(b, dtype=torch.bool, device=query.device)
    if neg_mask is None:
        neg_mask = ~eye
    else:
        check_mask("neg_mask", neg_mask, (b, b), where)
        neg_mask = neg_mask & ~eye
        if not bool(neg_mask.any(1).all()):
            raise ValueError(f"{where}: every query needs at least one negative in neg_mask.")
    l_pos = logits.diagonal()
    return _debiased_negative_term(l_pos, logits, neg_mask, tau_plus, beta, 1.0 / temperature).mean()


def debiased_info_nce(
    query: Tensor,
    key: Tensor,
    *,
    temperature: float = 0.5,
    tau_plus: float = 0.1,
    neg_mask: Tensor | None = None,
    similarity: SimilarityLike = "cosine",
) -> Tensor:
    r"""Debiased contrastive loss: corrects the negative term for same-class (false) negatives.

    .. math:: \ell_i = -\log \frac{e^{s_{ii}/\tau}}{e^{s_{ii}/\tau} + N_i \max\{
        \frac{\frac{1}{N_i}\sum_n e^{s_{in}/\tau} - \tau^+ e^{s_{ii}/\tau}}{1-\tau^+}, e^{-1/\tau}\}}

    :math:`N_i` is the number of negatives of query i. The floor :math:`e^{-1/\tau}` assumes
    cosine similarity (the theoretical minimum of :math:`e^{s/\tau}`).
    """
    return hard_negative_info_nce(
        query,
        key,
        temperature=temperature,
        beta=0.0,
        tau_plus=tau_plus,
        neg_mask=neg_mask,
        similarity=similarity,
    )

