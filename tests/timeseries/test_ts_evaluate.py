"""Patient-independent splits, label fractions and the metrics (against hand-countable cases)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from contrastkit.core import TrainConfig
from contrastkit.timeseries.data import WindowDataset, make_windows, synthetic_recordings
from contrastkit.timeseries.evaluate import (
    classification_metrics,
    embed,
    evaluate_encoder,
    fit_probe,
    init_head_from_probe,
    label_fraction,
    patient_folds,
    patient_metrics,
    patient_split,
    predict_proba,
    report,
    sample_metrics,
    split_and_normalize,
)
from contrastkit.timeseries.models import Classifier, DilatedConvEncoder


def reference_auroc(y: np.ndarray, score: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties count 1/2: the pairwise definition."""
    pos, neg = score[y == 1], score[y == 0]
    wins = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    return sum(wins) / len(wins)


def test_split_is_patient_disjoint_stratified_and_complete() -> None:
    patient = torch.arange(10).repeat_interleave(3)
    label = (patient % 2).long()
    split = patient_split(patient, label, val_fraction=0.2, test_fraction=0.2, seed=3)
    parts = [set(patient[s].tolist()) for s in (split.train, split.val, split.test)]
    assert all(not (a & b) for a, b in itertools.combinations(parts, 2))
    assert sorted(np.concatenate([split.train, split.val, split.test]).tolist()) == list(range(30))
    for s, n in ((split.test, 1), (split.val, 1), (split.train, 3)):  # per class of 5 patients
        assert np.bincount(label[s].numpy()).tolist() == [3 * n, 3 * n]
    other = patient_split(patient, label, seed=4)
    assert set(patient[other.test].tolist()) != parts[2] or set(patient[other.val].tolist()) != parts[1]
    with pytest.raises(ValueError, match="too few"):
        patient_split(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 0, 1, 1]))


def test_patient_folds_test_every_patient_once_and_keep_parts_disjoint() -> None:
    patient = torch.arange(20).repeat_interleave(3)
    label = (patient % 2).long()
    splits = patient_folds(patient, label, n_folds=5, seed=1)
    assert len(splits) == 5
    tested = [pid for split in splits for pid in sorted(set(patient[split.test].tolist()))]
    assert sorted(tested) == list(range(20))  # every patient tested exactly once
    for k, split in enumerate(splits):
        parts = [set(patient[s].tolist()) for s in (split.train, split.val, split.test)]
        assert all(not (a & b) for a, b in itertools.combinations(parts, 2))
        assert sorted(np.concatenate([split.train, split.val, split.test]).tolist()) == list(range(60))
        assert [len(p) for p in parts] == [12, 4, 4]
        assert np.bincount(label[split.test].numpy()).tolist() == [6, 6]  # 2 patients of each class
        assert parts[1] == set(patient[splits[(k + 1) % 5].test].tolist())  # validates on the next fold
    assert [s.test.tolist() for s in patient_folds(patient, label, seed=2)] != [s.test.tolist() for s in splits]
    with pytest.raises(ValueError, match="fewer than n_folds"):
        patient_folds(torch.arange(8), torch.tensor([0] * 6 + [1] * 2), n_folds=3)
    with pytest.raises(ValueError, match="n_folds"):
        patient_folds(patient, label, n_folds=2)


def test_label_fraction_keeps_every_class() -> None:
    index = np.arange(100, 300)
    label = torch.tensor([0] * 250 + [1] * 50)
    sub = label_fraction(index, label, 0.01, seed=0)
    assert np.isin(sub, index).all()
    assert np.bincount(label[sub].numpy()).tolist() == [2, 1]  # round(0.01 * 150) = 2, at least 1 of 50
    assert len(label_fraction(index, label, 1.0)) == 200
    with pytest.raises(ValueError, match="fraction"):
        label_fraction(index, label, 0.0)


def test_binary_metrics_against_pairwise_counting() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    p1 = np.clip(0.3 * y + rng.uniform(0, 0.7, 40), 0, 1)
    m = classification_metrics(y, np.stack([1 - p1, p1], 1))
    assert m["auroc"] == pytest.approx(reference_auroc(y, p1))
    pred = (p1 > 0.5).astype(int)
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    tp, fp, fn = ((pred == 1) & (y == 1)).sum(), ((pred == 1) & (y == 0)).sum(), ((pred == 0) & (y == 1)).sum()
    assert m["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # AUPRC (average precision) of a perfect ranking is 1.
    assert classification_metrics(y, np.stack([1 - y, y], 1).astype(float))["auprc"] == 1.0
    with pytest.raises(ValueError, match="both classes"):
        classification_metrics(np.zeros(4, int), np.full((4, 2), 0.5))


def test_multiclass_metrics_are_macro_one_vs_rest() -> None:
    y = np.array([0, 1, 2, 0, 1, 2])
    prob = np.eye(3)[[0, 1, 2, 0, 2, 1]] * 0.8 + 0.2 / 3
    m = classification_metrics(y, prob)
    assert m["accuracy"] == pytest.approx(4 / 6)
    expected = np.mean([reference_auroc((y == k).astype(int), prob[:, k]) for k in range(3)])
    assert m["auroc"] == pytest.approx(expected)


def test_metrics_reject_labels_outside_the_classes() -> None:
    prob = np.eye(3)[[0, 1, 2, 2]]
    # -1 ("unlabelled") would otherwise be scored as the last class, here a perfect one.
    with pytest.raises(ValueError, match=r"labels must lie in 0..2; got \[-1, 2\]"):
        classification_metrics(np.array([0, 1, 2, -1]), prob)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        classification_metrics(np.array([0, 1, 2, 3]), prob)
    with pytest.raises(TypeError, match="integer labels"):
        classification_metrics(np.array([0.0, 1.0, 2.0, 2.0]), prob)
    with pytest.raises(ValueError, match="K >= 2"):
        classification_metrics(np.array([0, 1, 0, 1]), np.ones((4, 1)))


def test_patient_metrics_average_probabilities_per_patient() -> None:
    patient = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    p1 = np.array([0.9, 0.2, 0.4, 0.5, 0.6, 0.7, 0.1, 0.3])  # means: 0.55, 0.45, 0.65, 0.2
    m = patient_metrics(y, np.stack([1 - p1, p1], 1), patient)
    assert m["accuracy"] == 1.0
    assert m["auroc"] == pytest.approx(reference_auroc(np.array([1, 0, 1, 0]), np.array([0.55, 0.45, 0.65, 0.2])))


def test_evaluate_encoder_reports_every_protocol_fraction_and_level() -> None:
    ds = make_windows(synthetic_recordings(10, 3, n_channels=2, length=64), window=32, stride=16)
    ds, split = split_and_normalize(ds, seed=0)
    enc = DilatedConvEncoder(2, out_dim=8, hidden=8, depth=1)
    before = [p.detach().clone() for p in enc.parameters()]
    out = evaluate_encoder(
        enc, ds, split, fractions=(1.0, 0.1), finetune_config=TrainConfig(max_steps=3, progress=False), seed=0
    )
    expected = {
        f"{proto}_{pct}_{level}_{metric}"
        for proto in ("linear", "finetune")
        for pct in ("100", "10")
        for level in ("sample", "patient")
        for metric in ("accuracy", "f1", "auroc", "auprc")
    }
    assert set(out) == expected
    assert all(0.0 <= v <= 1.0 for v in out.values())
    assert all(torch.equal(a, b) for a, b in zip(before, enc.parameters(), strict=True))  # fine-tuning copies
    with pytest.raises(ValueError, match="protocols"):
        evaluate_encoder(enc, ds, split, protocols=("knn",))  # type: ignore[arg-type]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_head_from_probe_reproduces_the_probe_probabilities(n_classes: int) -> None:
    ds = make_windows(synthetic_recordings(6, 3, n_channels=2, length=64), window=32, stride=16)
    ds = dataclasses.replace(ds, label=ds.patient % n_classes)
    enc = DilatedConvEncoder(2, out_dim=8, hidden=8, depth=1)
    probe = fit_probe(enc, ds, seed=0)
    model = Classifier(enc, n_classes)
    init_head_from_probe(model.head, probe)
    expected = probe.predict_proba(embed(enc, ds.x))
    np.testing.assert_allclose(predict_proba(model, ds.x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="classes 0..3"):
        init_head_from_probe(Classifier(enc, 4).head, probe)


def test_evaluate_encoder_probe_head_init_changes_only_fine_tuning() -> None:
    ds = make_windows(synthetic_recordings(10, 3, n_channels=2, length=64), window=32, stride=16)
    ds, split = split_and_normalize(ds, seed=0)
    enc = DilatedConvEncoder(2, out_dim=8, hidden=8, depth=1)
    cfg = TrainConfig(max_steps=2, progress=False)
    random_head = evaluate_encoder(enc, ds, split, fractions=(1.0,), finetune_config=cfg, seed=0)
    probe_head = evaluate_encoder(enc, ds, split, fractions=(1.0,), finetune_config=cfg, head_init="probe", seed=0)
    assert all(probe_head[k] == v for k, v in random_head.items() if k.startswith("linear"))
    assert any(probe_head[k] != v for k, v in random_head.items() if k.startswith("finetune"))
    with pytest.raises(ValueError, match="head_init"):
        evaluate_encoder(enc, ds, split, head_init="zeros")  # type: ignore[arg-type]


def test_label_draws_average_over_independent_labelled_subsets() -> None:
    ds = make_windows(synthetic_recordings(10, 3, n_channels=2, length=64), window=32, stride=16)
    ds, split = split_and_normalize(ds, seed=0)
    enc = DilatedConvEncoder(2, out_dim=8, hidden=8, depth=1)
    kw = {"fractions": (1.0, 0.1), "protocols": ("linear",), "seed": 0}
    single = evaluate_encoder(enc, ds, split, **kw)  # type: ignore[arg-type]
    averaged = evaluate_encoder(enc, ds, split, label_draws=3, **kw)  # type: ignore[arg-type]
    assert all(averaged[k] == v for k, v in single.items() if k.startswith("linear_100_"))  # 100%: one draw
    draws = [
        evaluate_encoder(enc, ds, split, fractions=(0.1,), protocols=("linear",), seed=seed)
        for seed in (0, 1_000_003, 2_000_006)  # the draws' subset seeds; the probe's seed stays 0
    ]
    assert len({tuple(sorted(d.items())) for d in draws}) > 1  # the draws label different samples
    for key in (k for k in averaged if k.startswith("linear_10_")):
        manual = [d[key] for d in draws]
        assert averaged[key] == pytest.approx(np.mean(manual))
    with pytest.raises(ValueError, match="label_draws"):
        evaluate_encoder(enc, ds, split, label_draws=0)


def test_labels_that_change_within_patients_give_sample_metrics_and_a_warning() -> None:
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])  # a trial-level state: every patient has both, so each "is" 0
    patient = np.repeat([0, 1, 2, 3], 2)
    prob = np.stack([1 - np.linspace(0.1, 0.9, 8), np.linspace(0.1, 0.9, 8)], axis=1)
    with pytest.warns(UserWarning, match="no patient-level metrics"):
        scores = report(y, prob, patient)
    assert scores == {f"sample_{k}": v for k, v in sample_metrics(y, prob).items()}


def test_evaluate_encoder_wants_labels_coded_0_to_k_minus_1() -> None:
    ds = make_windows(synthetic_recordings(6, 2, n_channels=2, length=32, seed=0), window=16)
    ds, split = split_and_normalize(ds, seed=0)
    shifted = WindowDataset(ds.x, ds.patient, ds.trial, ds.label + 1, ds.patient_names, ds.channels)
    with pytest.raises(ValueError, match=r"classes 0..K-1 \(K >= 2\), each present; got \[1, 2\].*factorize"):
        evaluate_encoder(DilatedConvEncoder(2, out_dim=4, hidden=4, depth=1), shifted, split, protocols=("linear",))
