"""STS evaluation equals Spearman of cosine similarities computed by hand."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr

from contrastkit.text import load_model, sts_evaluator, sts_spearman, synthetic_sts


def test_sts_spearman_is_spearman_of_cosines_and_restores_train_mode():
    model = load_model(max_seq_length=32, device="cpu")
    data = synthetic_sts(n_pairs=12, seed=1)
    model.train()
    value = sts_spearman(model, data.sentences1, data.sentences2, data.scores)
    assert model.training
    e1 = torch.tensor(model.encode(data.sentences1))
    e2 = torch.tensor(model.encode(data.sentences2))
    cosines = torch.nn.functional.cosine_similarity(e1, e2).tolist()
    assert value == pytest.approx(spearmanr(cosines, data.scores).statistic, abs=1e-6)


@pytest.mark.parametrize(
    ("s1", "s2", "scores"),
    [(["a", "b"], ["c"], [1.0, 2.0]), (["a"], ["b"], [1.0]), (["a", "b"], ["c", "d"], [3.0, 3.0])],
)
def test_sts_evaluator_rejects_unusable_gold_data(s1, s2, scores):
    with pytest.raises(ValueError, match="sts_evaluator"):
        sts_evaluator(s1, s2, scores)
