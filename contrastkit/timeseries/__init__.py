"""contrastkit.timeseries: COMET hierarchical contrastive learning for medical time series.

Recordings are a DataFrame (``patient_id``, ``trial_id``, ``label``, ``signal``); windows of a
trial are *samples*. COMET (Wang et al., NeurIPS 2023, arXiv:2310.14017) contrasts four levels:
observations (timestamps), samples, trials and patients, each usable alone (:mod:`.objectives`).
Evaluation is patient-independent, with 100 / 10 / 1 % of the training labels.

Example:
    >>> from contrastkit.core import TrainConfig
    >>> from contrastkit.timeseries import (EncoderConfig, PretrainConfig, evaluate_encoder, make_windows,
    ...     pretrain, split_and_normalize, synthetic_recordings)
    >>> ds, split = split_and_normalize(make_windows(synthetic_recordings(), window=64, stride=32))
    >>> encoder = EncoderConfig().build(in_channels=ds.x.shape[1])
    >>> _ = pretrain(ds.subset(split.train), encoder, PretrainConfig(), TrainConfig(max_steps=2, progress=False))
"""

from __future__ import annotations

from .data import (
    HierarchicalBatchSampler,
    WindowDataset,
    check_recordings,
    load_signal,
    make_windows,
    read_recordings,
    read_uci_eeg,
    synthetic_recordings,
)
from .evaluate import (
    PatientSplit,
    classification_metrics,
    embed,
    evaluate_encoder,
    fit_probe,
    init_head_from_probe,
    label_fraction,
    linear_probe,
    patient_folds,
    patient_metrics,
    patient_split,
    predict_proba,
    split_and_normalize,
)
from .models import Classifier, DilatedConvEncoder, pool_time, random_timestamp_mask
from .objectives import (
    COMET,
    LEVELS,
    PAPER_WEIGHTS,
    PTB_WEIGHTS,
    LevelWeights,
    NoPositivePairsWarning,
    group_level_loss,
    observation_loss,
    patient_loss,
    sample_loss,
    trial_loss,
)
from .train import EncoderConfig, PretrainConfig, encoder_state, finetune, load_encoder, pretrain

__all__ = [
    "COMET",
    "LEVELS",
    "PAPER_WEIGHTS",
    "PTB_WEIGHTS",
    "Classifier",
    "DilatedConvEncoder",
    "EncoderConfig",
    "HierarchicalBatchSampler",
    "LevelWeights",
    "NoPositivePairsWarning",
    "PatientSplit",
    "PretrainConfig",
    "WindowDataset",
    "check_recordings",
    "classification_metrics",
    "embed",
    "encoder_state",
    "evaluate_encoder",
    "finetune",
    "fit_probe",
    "group_level_loss",
    "init_head_from_probe",
    "label_fraction",
    "linear_probe",
    "load_encoder",
    "load_signal",
    "make_windows",
    "observation_loss",
    "patient_loss",
    "patient_folds",
    "patient_metrics",
    "patient_split",
    "pool_time",
    "predict_proba",
    "pretrain",
    "random_timestamp_mask",
    "read_recordings",
    "read_uci_eeg",
    "sample_loss",
    "split_and_normalize",
    "synthetic_recordings",
    "trial_loss",
]
