"""Full-ranking metrics against a loop reference; serving with its error cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor, nn

from contrastkit.recsys.data import EvalSplit, build_sequences, leave_one_out
from contrastkit.recsys.evaluate import (
    evaluate,
    per_user_ndcg,
    ranking_metrics,
    recommend,
    split_ranks,
    target_ranks,
)
from contrastkit.recsys.models import SASRec


def reference_metrics(scores: list[list[float]], targets: list[int], k: int) -> tuple[float, float]:
    """HR@k and NDCG@k by sorting every row, ties placed before the target (pessimistic)."""
    hr = ndcg = 0.0
    for row, target in zip(scores, targets, strict=True):
        mine = row[target - 1]
        rank = sum(1 for j, s in enumerate(row) if j != target - 1 and s >= mine)
        if rank < k:
            hr += 1
            ndcg += 1 / math.log2(rank + 2)
    return hr / len(targets), ndcg / len(targets)


def test_metrics_match_the_reference() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(50, 30, generator=g).round(decimals=1)  # rounding creates ties
    targets = torch.randint(1, 31, (50,), generator=g)
    got = ranking_metrics(target_ranks(scores, targets), ks=(1, 5, 10))
    for k in (1, 5, 10):
        hr, ndcg = reference_metrics(scores.tolist(), targets.tolist(), k)
        assert got[f"hr@{k}"] == pytest.approx(hr) and got[f"ndcg@{k}"] == pytest.approx(ndcg)


def test_a_constant_model_ranks_last_not_first() -> None:
    ranks = target_ranks(torch.zeros(4, 100), torch.tensor([1, 2, 3, 4]))
    assert ranks.tolist() == [99] * 4
    assert ranking_metrics(ranks)["hr@20"] == 0.0


class FixedScores(nn.Module):
    """A stand-in recommender: score of item j+1 after a sequence ending in x is -|j + 1 - (x + 1)|."""

    def __init__(self, n_items: int) -> None:
        super().__init__()
        self.n_items, self.max_len = n_items, 4
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, seqs: Tensor) -> Tensor:
        nxt = seqs[:, -1:] + 1
        return -(torch.arange(1, self.n_items + 1)[None] - nxt).abs().float() + self.dummy


def test_evaluate_runs_in_batches_and_agrees_with_the_reference() -> None:
    model = FixedScores(40)
    inputs = torch.randint(1, 40, (23, 4))
    targets = torch.randint(1, 41, (23,))
    split = EvalSplit(inputs, targets)
    got = evaluate(model, split, batch_size=5)  # type: ignore[arg-type]
    scores = model(inputs).tolist()
    for k in (5, 10, 20):
        hr, ndcg = reference_metrics(scores, targets.tolist(), k)
        assert got[f"hr@{k}"] == pytest.approx(hr) and got[f"ndcg@{k}"] == pytest.approx(ndcg)
    perfect = evaluate(model, EvalSplit(inputs, (inputs[:, -1] + 1).clamp(max=40)))  # type: ignore[arg-type]
    assert perfect["hr@5"] == 1.0


def test_split_ranks_are_each_users_reference_rank_and_per_user_ndcg_averages_to_the_metric() -> None:
    model = FixedScores(40)
    inputs = torch.randint(1, 40, (23, 4), generator=torch.Generator().manual_seed(1))
    targets = torch.randint(1, 41, (23,), generator=torch.Generator().manual_seed(2))
    ranks = split_ranks(model, EvalSplit(inputs, targets), batch_size=5)  # type: ignore[arg-type]
    scores = model(inputs).tolist()
    for row, target, rank in zip(scores, targets.tolist(), ranks.tolist(), strict=True):
        assert rank == sum(1 for j, s in enumerate(row) if j != target - 1 and s >= row[target - 1])
    for k in (5, 10):
        per_user = per_user_ndcg(ranks, k)
        assert per_user.shape == (23,) and per_user.dtype == torch.float64
        for r, v in zip(ranks.tolist(), per_user.tolist(), strict=True):
            assert v == pytest.approx(1 / math.log2(r + 2) if r < k else 0.0)
        assert float(per_user.mean()) == pytest.approx(evaluate(model, EvalSplit(inputs, targets))[f"ndcg@{k}"])  # type: ignore[arg-type]


@pytest.mark.parametrize("ranks, k", [(torch.tensor([0.5]), 10), (torch.tensor([-1]), 10), (torch.tensor([[1]]), 10), (torch.tensor([1]), 0)])
def test_per_user_ndcg_rejects_what_is_not_a_rank(ranks: Tensor, k: int) -> None:
    with pytest.raises(ValueError, match="per_user_ndcg"):
        per_user_ndcg(ranks, k)


def test_evaluate_can_exclude_each_users_history_but_never_the_target() -> None:
    model = FixedScores(40)
    g = torch.Generator().manual_seed(1)
    inputs = torch.randint(1, 40, (17, 4), generator=g)
    targets = torch.randint(1, 41, (17,), generator=g)
    history = [np.unique(np.r_[torch.randint(1, 41, (int(n),), generator=g).numpy(), t]) for n, t in
               zip(torch.randint(0, 12, (17,), generator=g), targets.tolist(), strict=True)]
    got = evaluate(model, EvalSplit(inputs, targets), batch_size=4, exclude=history)  # type: ignore[arg-type]
    scores = model(inputs).tolist()
    for row, seen, target in zip(scores, history, targets.tolist(), strict=True):
        for item in seen:
            if item != target:
                row[item - 1] = float("-inf")
    for k in (5, 10, 20):
        hr, ndcg = reference_metrics(scores, targets.tolist(), k)
        assert got[f"hr@{k}"] == pytest.approx(hr) and got[f"ndcg@{k}"] == pytest.approx(ndcg)
    assert got != evaluate(model, EvalSplit(inputs, targets))  # type: ignore[arg-type]


def test_evaluate_rejects_a_bad_exclusion_list() -> None:
    split = EvalSplit(torch.ones(3, 4, dtype=torch.long), torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="exclude has 2 users"):
        evaluate(FixedScores(10), split, exclude=[np.array([1]), np.array([2])])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside 1..10"):
        evaluate(FixedScores(10), split, exclude=[np.array([11]), np.array([2]), np.array([0])])  # type: ignore[arg-type]


def test_history_is_everything_before_the_held_out_item_untruncated() -> None:
    frame = pd.DataFrame({"user_id": [1] * 8, "item_id": list("abcdefgh"), "timestamp": range(8)})
    split = leave_one_out(build_sequences(frame), max_len=3)
    assert split.history("valid")[0].tolist() == split.data.sequences[0][:-2].tolist()
    assert split.history("test")[0].tolist() == split.data.sequences[0][:-1].tolist()
    assert len(split.history("test")[0]) == 7 > split.test.inputs.shape[1]
    with pytest.raises(ValueError, match="'valid' or 'test'"):
        split.history("train")  # type: ignore[arg-type]


@pytest.fixture
def trained() -> tuple[SASRec, object]:
    frame = pd.DataFrame({"user_id": [1] * 5 + [2] * 5, "item_id": list("abcde") + list("cdefg"), "timestamp": list(range(10))})
    data = build_sequences(frame)
    torch.manual_seed(0)
    return SASRec(data.n_items, max_len=4, hidden=8, dropout=0.0), data


def test_recommend_returns_original_ids_and_can_exclude_the_history(trained) -> None:
    model, data = trained
    top = recommend(model, data, ["a", "b", "c"], k=7)
    assert sorted(top) == list("abcdefg")
    fresh = recommend(model, data, ["a", "b", "c"], k=4, exclude_seen=True)
    assert sorted(fresh) == list("defg")
    scores = model(torch.as_tensor(data.item_index(["a", "b", "c"]))[None])[0]
    assert top[0] == data.item_ids[int(scores.argmax()) + 1]


def test_recommend_rejects_bad_requests(trained) -> None:
    model, data = trained
    with pytest.raises(ValueError, match="empty"):
        recommend(model, data, [], k=3)
    with pytest.raises(ValueError, match=r"unknown item ids \['zz'\]"):
        recommend(model, data, ["a", "zz"], k=3)
    with pytest.raises(ValueError, match=r"k must be in \[1, 5\]"):
        recommend(model, data, ["a", "b"], k=6, exclude_seen=True)
    with pytest.raises(ValueError, match=r"k must be in \[1, 7\]"):
        recommend(model, data, ["a"], k=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="model scores 3 items but data maps 7"):
        recommend(SASRec(3, max_len=4, hidden=8), data, ["a"], k=2)


def test_a_diverged_model_is_an_error_not_a_perfect_score(trained) -> None:
    # NaN compares false with every score, so a NaN target would otherwise get rank 0 (HR = 1).
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        target_ranks(torch.full((3, 10), float("nan")), torch.tensor([1, 2, 3]))
    model, data = trained
    with torch.no_grad():
        model.item_emb.weight.fill_(float("nan"))
    split = EvalSplit(torch.ones(2, 4, dtype=torch.long), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        evaluate(model, split)
    with pytest.raises(ValueError, match="NaN or inf"):
        recommend(model, data, ["a"], k=2)


def test_ranks_and_targets_out_of_range_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"targets must be item indices in 1..10"):
        target_ranks(torch.zeros(2, 10), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"targets must be item indices in 1..10"):
        target_ranks(torch.zeros(2, 10), torch.tensor([3, 11]))
    with pytest.raises(ValueError, match="is -inf"):
        target_ranks(torch.tensor([[float("-inf"), 0.0]]), torch.tensor([1]))
    with pytest.raises(ValueError, match=">= 0"):
        ranking_metrics(torch.tensor([-1, 3]))
    with pytest.raises(ValueError, match="non-empty"):
        ranking_metrics(torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="the model knows 1..10"):
        evaluate(FixedScores(10), EvalSplit(torch.ones(2, 4, dtype=torch.long), torch.tensor([1, 12])))  # type: ignore[arg-type]
