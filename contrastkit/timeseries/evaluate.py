"""Patient-independent evaluation: splits, label fractions, linear probe, fine-tuning, metrics.

No patient appears in more than one of train / val / test. Metrics are reported per sample and
per patient (a patient's class probabilities are the mean over its samples; its label is the
most frequent label of its samples).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

from contrastkit.core import TrainConfig, seed_everything
from contrastkit.core.checks import check_positive_int

from .data import WindowDataset
from .models import Classifier, DilatedConvEncoder, pool_time
from .train import finetune

Protocol = Literal["linear", "finetune"]
HeadInit = Literal["random", "probe"]


@dataclass(frozen=True)
class PatientSplit:
    """Sample indices of each part; the patients of the parts are disjoint."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def patient_labels(label: Tensor | np.ndarray, patient: Tensor | np.ndarray) -> pd.Series:
    """The most frequent label of each patient's samples (ties: the smaller label), indexed by patient code."""
    frame = pd.DataFrame({"patient": np.asarray(patient), "label": np.asarray(label)})
    return frame.groupby("patient")["label"].agg(lambda s: s.value_counts().sort_index().idxmax())


def patient_split(
    patient: Tensor,
    label: Tensor,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> PatientSplit:
    """Split *patients* into train / val / test, stratified by patient label, and return sample indices.

    Per class of patients, ``round(fraction * n)`` patients (at least 1 when the fraction is > 0)
    go to val and to test; the rest train.

    Raises:
        ValueError: on fractions outside [0, 1) that leave no training patient in some class.
    """
    if not (0 <= val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"patient_split: need 0 <= val_fraction, 0 < test_fraction and val + test < 1; "
            f"got {val_fraction}, {test_fraction}."
        )
    per_patient = patient_labels(label, patient)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for cls, group in per_patient.groupby(per_patient):
        ids = rng.permutation(group.index.to_numpy())
        n_test = max(1, round(test_fraction * len(ids)))
        n_val = max(1, round(val_fraction * len(ids))) if val_fraction > 0 else 0
        if len(ids) - n_test - n_val < 1:
            raise ValueError(
                f"patient_split: class {cls} has {len(ids)} patients, too few for a train/val/test split "
                f"({n_val} val, {n_test} test); add patients or lower the fractions."
            )
        parts["test"] += ids[:n_test].tolist()
        parts["val"] += ids[n_test : n_test + n_val].tolist()
        parts["train"] += ids[n_test + n_val :].tolist()
    codes = np.asarray(patient)
    return PatientSplit(**{k: np.flatnonzero(np.isin(codes, v)) for k, v in parts.items()})


def patient_folds(patient: Tensor, label: Tensor, *, n_folds: int = 5, seed: int = 0) -> list[PatientSplit]:
    """Patient-level cross-validation: ``n_folds`` splits in which every patient is tested exactly once.

    Per class, patients are shuffled (``seed``) and dealt round-robin into ``n_folds`` folds, so each
    fold holds every class. Split ``k`` tests fold ``k``, validates on fold ``(k + 1) % n_folds`` and
    trains on the rest. Averaging a metric over the ``n_folds`` splits uses every patient as a test
    patient once, which random splits (:func:`patient_split` with several seeds) do not guarantee.

    Raises:
        ValueError: if ``n_folds < 3`` or some class has fewer than ``n_folds`` patients.
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 3:
        raise ValueError(f"patient_folds: n_folds must be an int >= 3 (test, val and train folds); got {n_folds!r}.")
    per_patient = patient_labels(label, patient)
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for cls, group in per_patient.groupby(per_patient):
        if len(group) < n_folds:
            raise ValueError(
                f"patient_folds: class {cls} has {len(group)} patients, fewer than n_folds={n_folds}; "
                "lower n_folds so that every test fold holds every class."
            )
        for i, pid in enumerate(rng.permutation(group.index.to_numpy())):
            folds[i % n_folds].append(int(pid))
    codes = np.asarray(patient)
    splits = []
    for k in range(n_folds):
        val_fold = (k + 1) % n_folds
        train = [p for j, fold in enumerate(folds) if j not in (k, val_fold) for p in fold]
        parts = {"train": train, "val": folds[val_fold], "test": folds[k]}
        splits.append(PatientSplit(**{name: np.flatnonzero(np.isin(codes, ids)) for name, ids in parts.items()}))
    return splits


def label_fraction(index: np.ndarray, label: Tensor, fraction: float, *, seed: int = 0) -> np.ndarray:
    """A class-stratified subset of ``index`` with ``round(fraction * n_c)`` (at least 1) samples per class."""
    if not 0 < fraction <= 1:
        raise ValueError(f"label_fraction: fraction must be in (0, 1]; got {fraction}.")
    labels = np.asarray(label)[index]
    rng = np.random.default_rng(seed)
    keep = []
    for cls in np.unique(labels):
        members = index[labels == cls]
        keep.append(rng.choice(members, max(1, round(fraction * len(members))), replace=False))
    return np.sort(np.concatenate(keep))


def classification_metrics(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Accuracy, F1, AUROC and AUPRC from labels ``[N]`` and class probabilities ``[N, K]``.

    Binary (``K = 2``): F1, AUROC and AUPRC of class 1. ``K > 2``: macro averages (one-vs-rest).

    Raises:
        ValueError: when ``y`` holds a single class (AUROC is undefined).
    """
    y = np.asarray(y)
    prob = np.asarray(prob)
    if prob.ndim != 2 or prob.shape[0] != y.shape[0] or prob.shape[1] < 2:
        raise ValueError(f"classification_metrics: prob must be [N, K >= 2] with N={len(y)}; got {prob.shape}.")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"classification_metrics: y must be integer labels [N]; got {y.dtype} {y.shape}.")
    if y.size and (y.min() < 0 or y.max() >= prob.shape[1]):
        # -1 (unlabelled) would otherwise index the last class of a one-hot table.
        raise ValueError(
            f"classification_metrics: labels must lie in 0..{prob.shape[1] - 1}; got [{y.min()}, {y.max()}]. "
            "Drop unlabelled (-1) samples first."
        )
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"classification_metrics: AUROC needs both classes among the labels; got only {np.unique(y)}. "
            "Use a patient-stratified split (patient_split)."
        )
    pred = prob.argmax(1)
    if prob.shape[1] == 2:
        return {
            "accuracy": float(accuracy_score(y, pred)),
            "f1": float(f1_score(y, pred, zero_division=0)),
            "auroc": float(roc_auc_score(y, prob[:, 1])),
            "auprc": float(average_precision_score(y, prob[:, 1])),
        }
    onehot = np.eye(prob.shape[1])[y]
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "auroc": float(roc_auc_score(onehot, prob, average="macro")),
        "auprc": float(average_precision_score(onehot, prob, average="macro")),
    }


def sample_metrics(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """:func:`classification_metrics` per sample."""
    return classification_metrics(y, prob)


def patient_metrics(y: np.ndarray, prob: np.ndarray, patient: np.ndarray) -> dict[str, float]:
    """:func:`classification_metrics` per patient: mean probabilities, most frequent label."""
    frame = pd.DataFrame(np.asarray(prob)).assign(patient=np.asarray(patient))
    mean_prob = frame.groupby("patient").mean()
    labels = patient_labels(y, patient).loc[mean_prob.index]
    return classification_metrics(labels.to_numpy(), mean_prob.to_numpy())


def report(y: np.ndarray, prob: np.ndarray, patient: np.ndarray) -> dict[str, float]:
    """``sample_<metric>`` and ``patient_<metric>`` in one flat dict.

    The patient metrics are left out, with a warning, when the patients' labels (each one's most
    frequent) are all one class: labels that change within a patient (a trial-level state) leave
    nothing to score per patient.
    """
    out = {f"sample_{k}": v for k, v in sample_metrics(y, prob).items()}
    if patient_labels(y, patient).nunique() < 2:
        warnings.warn(
            "report: every patient's most frequent label is the same class, so there are no patient-level "
            "metrics; with labels that change within a patient only the sample-level ones mean something.",
            stacklevel=2,
        )
        return out
    return out | {f"patient_{k}": v for k, v in patient_metrics(y, prob, patient).items()}


@torch.no_grad()
def _in_eval(model: nn.Module, x: Tensor, fn: str, batch_size: int) -> np.ndarray:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    outs = []
    for chunk in x.split(batch_size):
        out = model(chunk.to(device))
        outs.append(pool_time(out) if fn == "embed" else out.softmax(-1))
    model.train(was_training)
    return torch.cat(outs).cpu().numpy()


def embed(encoder: DilatedConvEncoder, x: Tensor, *, batch_size: int = 256) -> np.ndarray:
    """Time-pooled representations ``[N, D]`` of ``x`` ``[N, C, T]`` (eval mode, no masking)."""
    return _in_eval(encoder, x, "embed", batch_size)


def predict_proba(model: nn.Module, x: Tensor, *, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``[N, K]`` of a classifier (eval mode)."""
    return _in_eval(model, x, "proba", batch_size)


def fit_probe(encoder: DilatedConvEncoder, train_ds: WindowDataset, *, seed: int = 0) -> Pipeline:
    """Logistic regression on frozen, standardised representations :func:`embed` of ``train_ds``."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    return clf.fit(embed(encoder, train_ds.x), train_ds.label.numpy())


def linear_probe(
    encoder: DilatedConvEncoder, train_ds: WindowDataset, test_ds: WindowDataset, *, seed: int = 0
) -> dict[str, float]:
    """:func:`fit_probe` on ``train_ds``; its test metrics (:func:`report`)."""
    prob = fit_probe(encoder, train_ds, seed=seed).predict_proba(embed(encoder, test_ds.x))
    return report(test_ds.label.numpy(), prob, test_ds.patient.numpy())


@torch.no_grad()
def init_head_from_probe(head: nn.Linear, probe: Pipeline) -> None:
    r"""Set ``head`` (``[K, D]`` logits) to the fitted probe's function of the same representations.

    The scaler is folded in: :math:`w' = w / \sigma`, :math:`b' = b - \sum_d w_d \mu_d / \sigma_d`.
    A binary probe has one logit :math:`s`; the head gets :math:`(-s/2, s/2)`, whose softmax is
    :math:`(1 - \sigma(s), \sigma(s))`, the probe's probabilities. This is LP-FT's start
    (Kumar et al., ICLR 2022): fine-tuning begins from a fitted head instead of a random one.

    Raises:
        ValueError: when the probe did not see exactly the classes ``0 .. K-1`` or ``D`` differs.
    """
    scaler, logreg = probe[0], probe[-1]
    k, d = head.weight.shape
    if not np.array_equal(logreg.classes_, np.arange(k)) or logreg.coef_.shape[1] != d:
        raise ValueError(
            f"init_head_from_probe: the probe must be fitted on classes 0..{k - 1} and {d} features; "
            f"got classes {logreg.classes_.tolist()} and {logreg.coef_.shape[1]} features."
        )
    weight = logreg.coef_ / scaler.scale_  # (K or 1, D)
    bias = logreg.intercept_ - (weight * scaler.mean_).sum(1)  # (K or 1,)
    if k == 2:
        weight, bias = np.concatenate([-weight, weight]) / 2, np.concatenate([-bias, bias]) / 2
    head.weight.copy_(torch.as_tensor(weight, dtype=head.weight.dtype))
    head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))


def evaluate_encoder(
    encoder: DilatedConvEncoder,
    ds: WindowDataset,
    split: PatientSplit,
    *,
    fractions: Sequence[float] = (1.0, 0.1, 0.01),
    protocols: Sequence[Protocol] = ("linear", "finetune"),
    finetune_config: TrainConfig | None = None,
    encoder_lr: float | None = None,
    head_init: HeadInit = "random",
    label_draws: int = 1,
    seed: int = 0,
) -> dict[str, float]:
    """Linear probe and/or fine-tuning with each fraction of the training labels; test metrics.

    Keys are ``<protocol>_<percent>_<sample|patient>_<metric>``, e.g. ``linear_10_patient_auroc``.
    With ``label_draws=R > 1``, every fraction below 1 is evaluated on ``R`` independent draws of
    the labelled subset and each metric is the mean over the draws (few labels make the score depend
    on which samples were labelled; draw 0 is the single draw of ``label_draws=1``).
    Fine-tuning starts from a copy of ``encoder`` (it is not modified) and selects its best step on
    the validation patients; ``encoder_lr`` is the encoder's fine-tuning rate (None: the config's
    ``lr``, see :func:`finetune`); ``head_init="probe"`` starts fine-tuning from the linear probe
    fitted on the same labelled samples (:func:`init_head_from_probe`, LP-FT). Pass an untrained
    encoder with ``protocols=("finetune",)`` for the supervised-from-scratch baseline.
    """
    if head_init not in ("random", "probe"):
        raise ValueError(f"evaluate_encoder: head_init must be 'random' or 'probe'; got {head_init!r}.")
    unknown = sorted(set(protocols) - {"linear", "finetune"})
    if unknown:
        raise ValueError(f"evaluate_encoder: unknown protocols {unknown}; use 'linear' and/or 'finetune'.")
    if not ds.has_labels:
        raise ValueError("evaluate_encoder: every sample needs a label (>= 0).")
    check_positive_int("label_draws", label_draws, "evaluate_encoder")
    classes = torch.unique(ds.label)
    n_classes = int(classes.max()) + 1
    if len(classes) != n_classes or n_classes < 2:
        raise ValueError(
            f"evaluate_encoder: labels must be the classes 0..K-1 (K >= 2), each present; got {classes.tolist()}. "
            "Encode them first, e.g. df['label'] = pd.factorize(df['label'])[0]."
        )
    test = ds.subset(split.test)
    val = ds.subset(split.val) if len(split.val) else None
    cfg = finetune_config or TrainConfig(max_steps=200, progress=False)
    y_test, patient_test = test.label.numpy(), test.patient.numpy()
    z_test = embed(encoder, test.x) if "linear" in protocols else None  # the frozen encoder's: same for every draw
    out: dict[str, float] = {}
    for fraction in fractions:
        pct = f"{100 * fraction:g}"
        draws: list[dict[str, float]] = []
        for draw in range(label_draws if fraction < 1 else 1):
            train = ds.subset(label_fraction(split.train, ds.label, fraction, seed=seed + _DRAW_STRIDE * draw))
            scores: dict[str, float] = {}
            probe = fit_probe(encoder, train, seed=seed) if "linear" in protocols or head_init == "probe" else None
            if probe is not None and z_test is not None:
                scores |= {f"linear_{pct}_{k}": v for k, v in report(y_test, probe.predict_proba(z_test), patient_test).items()}
            if "finetune" in protocols:
                seed_everything(seed)  # the head's initialisation
                model = Classifier(copy.deepcopy(encoder), n_classes)
                if probe is not None and head_init == "probe":
                    init_head_from_probe(model.head, probe)
                finetune(model, train, val, replace(cfg, seed=seed), batch_size=64, encoder_lr=encoder_lr)
                prob = predict_proba(model, test.x)
                scores |= {f"finetune_{pct}_{k}": v for k, v in report(y_test, prob, patient_test).items()}
            draws.append(scores)
        out |= {key: float(np.mean([d[key] for d in draws])) for key in draws[0]}
    return out


_DRAW_STRIDE = 1_000_003  # label draw d uses seed + d * stride, so draw 0 is the single-draw subset


def split_and_normalize(
    ds: WindowDataset,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    split: PatientSplit | None = None,
) -> tuple[WindowDataset, PatientSplit]:
    """:func:`patient_split` (or the given ``split``, e.g. one of :func:`patient_folds`), then per-channel
    z-scores with statistics of the training patients only."""
    if split is None:
        split = patient_split(ds.patient, ds.label, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    mean, std = ds.subset(split.train).channel_stats()
    return ds.normalized(mean, std), split
