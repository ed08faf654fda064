"""COMET pretraining and supervised training of the time-series encoder on the core :class:`Trainer`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.core import TrainConfig, Trainer, data_fingerprint
from contrastkit.core.checks import check_positive_int, check_temperature

from .data import HierarchicalBatchSampler, WindowDataset
from .models import Classifier, DilatedConvEncoder, MaskMode, random_timestamp_mask
from .objectives import COMET, PAPER_WEIGHTS, LevelWeights


@dataclass(frozen=True)
class EncoderConfig:
    """Size of the :class:`DilatedConvEncoder` (TS2Vec's defaults are 320 / 64 / 10)."""

    out_dim: int = 64
    """Representation size D."""
    hidden: int = 32
    """Hidden width of the residual blocks."""
    depth: int = 4
    """Residual blocks, dilations 1 .. 2^(depth-1)."""
    dropout: float = 0.1
    """Dropout on the representations in training mode."""

    def __post_init__(self) -> None:
        for name in ("out_dim", "hidden", "depth"):
            check_positive_int(name, getattr(self, name), "EncoderConfig")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"EncoderConfig: dropout must be in [0, 1); got {self.dropout}.")

    def build(self, in_channels: int) -> DilatedConvEncoder:
        return DilatedConvEncoder(
            in_channels, out_dim=self.out_dim, hidden=self.hidden, depth=self.depth, dropout=self.dropout
        )


@dataclass(frozen=True)
class PretrainConfig:
    """What COMET pretraining contrasts and how batches are composed."""

    weights: LevelWeights = field(default_factory=lambda: PAPER_WEIGHTS)
    """Level weights; ``LevelWeights.equal(["sample"])`` is the TS2Vec/SimCLR-style baseline."""
    temperature: float = 0.1
    """Temperature of the sample, trial and patient levels (cosine similarity)."""
    observation_temperature: float = 1.0
    """Temperature of the observation level (dot product)."""
    mask_mode: MaskMode = "binomial"
    """Timestamp masking of each view: ``"binomial"`` (TS2Vec) or ``"continuous"`` (COMET)."""
    mask_keep: float = 0.5
    """Fraction of timestamps each view keeps."""
    patients_per_batch: int = 4
    """Distinct patients per batch."""
    trials_per_patient: int = 4
    """Distinct trials per patient per batch."""
    samples_per_trial: int = 2
    """Samples of each trial per batch (>= 2 gives trial-level positives)."""

    def __post_init__(self) -> None:
        # Checked here, before any data are read: a CLI run would otherwise load and window them first.
        check_temperature(self.temperature, "PretrainConfig")
        check_temperature(self.observation_temperature, "PretrainConfig (observation_temperature)")
        if self.mask_mode not in get_args(MaskMode):
            raise ValueError(f"PretrainConfig: mask_mode must be one of {get_args(MaskMode)}; got {self.mask_mode!r}.")
        if not 0 < self.mask_keep <= 1:
            raise ValueError(f"PretrainConfig: mask_keep must be in (0, 1]; got {self.mask_keep}.")
        for name in ("patients_per_batch", "trials_per_patient", "samples_per_trial"):
            check_positive_int(name, getattr(self, name), "PretrainConfig")
        # A level whose batches can hold no positive or no negative would add nothing but a constant.
        needs = {
            "trial": (self.samples_per_trial >= 2, self.patients_per_batch * self.trials_per_patient >= 2),
            "patient": (self.trials_per_patient * self.samples_per_trial >= 2, self.patients_per_batch >= 2),
        }
        for level, (positives, negatives) in needs.items():
            if getattr(self.weights, level) > 0 and not (positives and negatives):
                raise ValueError(
                    f"PretrainConfig: the {level} level (weight {getattr(self.weights, level)}) needs two samples "
                    f"of one {level} and samples of two {level}s in a batch; got patients_per_batch="
                    f"{self.patients_per_batch}, trials_per_patient={self.trials_per_patient}, samples_per_trial="
                    f"{self.samples_per_trial}. Raise them, or give the level weight 0."
                )


def _batches(ds: WindowDataset, sampler: HierarchicalBatchSampler) -> Callable[[int], list[dict[str, Tensor]]]:
    def batches(epoch: int) -> list[dict[str, Tensor]]:
        return [
            {"x": ds.x[i], "trial": ds.trial[i], "patient": ds.patient[i], "label": ds.label[i]}
            for i in map(torch.from_numpy, sampler.batches(epoch))
        ]

    return batches


def pretrain(
    ds: WindowDataset,
    encoder: DilatedConvEncoder,
    config: PretrainConfig | None = None,
    train: TrainConfig | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> Trainer:
    """Pretrain ``encoder`` with COMET on the (unlabelled) samples of ``ds``; returns the fitted Trainer.

    Each step draws a :class:`HierarchicalBatchSampler` batch, encodes it twice with independent
    timestamp masks (and dropout), and minimises :class:`COMET` on the two views.

    With ``train.run_dir`` a checkpoint resumes only the run that wrote it: the same ``config``, the
    same encoder, the same samples (a fingerprint of ``ds``: another fold's patients or another
    window would otherwise continue a run that saw the test patients) and ``run_config``, extra
    settings that define the run (the CLI passes its data settings, so an error names them).

    Example:
        >>> enc = EncoderConfig().build(in_channels=ds.x.shape[1])  # doctest: +SKIP
        >>> pretrain(ds, enc, PretrainConfig(), TrainConfig(max_steps=200))  # doctest: +SKIP
    """
    config = config or PretrainConfig()
    train = train or TrainConfig()
    sampler = HierarchicalBatchSampler(
        ds.patient,
        ds.trial,
        patients_per_batch=config.patients_per_batch,
        trials_per_patient=config.trials_per_patient,
        samples_per_trial=config.samples_per_trial,
        seed=train.seed,
    )
    loss_fn = COMET(
        config.weights, temperature=config.temperature, observation_temperature=config.observation_temperature
    )

    def step(model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x = batch["x"]  # (B, C, T)
        b, _, t = x.shape
        views = [
            model(x, random_timestamp_mask(b, t, keep=config.mask_keep, mode=config.mask_mode, device=x.device))
            for _ in range(2)
        ]  # 2 x (B, T, D)
        return loss_fn(views[0], views[1], batch["trial"], batch["patient"])

    data = f"{data_fingerprint(ds.x, ds.patient, ds.trial, ds.label)} ({len(ds)} samples)"
    run = {**asdict(config), "encoder": encoder_state(encoder, weights=False), "data": data, **(run_config or {})}
    return Trainer(encoder, step, _batches(ds, sampler), train, run_config=run).fit()


def finetune(
    model: Classifier,
    train_ds: WindowDataset,
    val_ds: WindowDataset | None = None,
    train: TrainConfig | None = None,
    *,
    batch_size: int = 64,
    encoder_lr: float | None = None,
) -> Classifier:
    """Train ``model`` (encoder and head) with cross-entropy on the labelled samples of ``train_ds``.

    AdamW with ``train.lr`` for the head and ``encoder_lr`` for the encoder (None: ``train.lr``
    too); a smaller encoder rate keeps a pretrained encoder close to its representation when
    labels are few. With ``val_ds`` the validation AUROC is computed every ``train.eval_every``
    steps and the best weights are restored at the end (no test data is touched). From a random
    encoder this is the supervised baseline. Each call trains afresh (``resume=False``): it is one
    step of an evaluation, repeated per label fraction, and a checkpoint left in ``train.run_dir``
    by another call would otherwise be continued as if it were this one.

    Raises:
        ValueError: on unlabelled samples or ``encoder_lr <= 0``.
    """
    from .evaluate import predict_proba, sample_metrics

    train = train or TrainConfig()
    if not train_ds.has_labels:
        raise ValueError("finetune: every training sample needs a label (>= 0); filter unlabelled ones first.")
    if encoder_lr is not None and not encoder_lr > 0:
        raise ValueError(f"finetune: encoder_lr must be > 0 or None; got {encoder_lr}.")
    n = len(train_ds)

    def batches(epoch: int) -> list[dict[str, Tensor]]:
        order = torch.from_numpy(np.random.default_rng([train.seed, epoch]).permutation(n))
        return [{"x": train_ds.x[i], "y": train_ds.label[i]} for i in order.split(batch_size)]

    def step(m: nn.Module, batch: dict[str, Tensor]) -> Tensor:
        return F.cross_entropy(m(batch["x"]), batch["y"])

    evaluate: Callable[[nn.Module], dict[str, float]] | None = None
    with tempfile.TemporaryDirectory(prefix="finetune-") as tmp:
        if val_ds is not None:

            def evaluate(m: nn.Module) -> dict[str, float]:
                return {"auroc": sample_metrics(val_ds.label.numpy(), predict_proba(m, val_ds.x))["auroc"]}

            if train.eval_every is None:
                train = replace(train, eval_every=max(1, train.max_steps // 5))
            train = replace(train, monitor="auroc", mode="max", run_dir=train.run_dir or tmp)
        train = replace(train, resume=False)
        optimizer = torch.optim.AdamW(
            [
                {"params": model.encoder.parameters(), "lr": train.lr if encoder_lr is None else encoder_lr},
                {"params": model.head.parameters(), "lr": train.lr},
            ],
            weight_decay=train.weight_decay,
        )
        trainer = Trainer(model, step, batches, train, optimizer=optimizer, evaluate=evaluate)
        trainer.fit()
        if val_ds is not None:
            trainer.load_best()
    return model


def encoder_state(encoder: DilatedConvEncoder, *, weights: bool = True) -> dict[str, Any]:
    """Everything needed to rebuild the encoder: constructor arguments and (``weights``) weights."""
    first = encoder.blocks[0].conv1
    shape = {
        "in_channels": encoder.in_channels,
        "out_dim": encoder.out_dim,
        "hidden": encoder.hidden,
        "depth": encoder.depth,
        "kernel_size": first.kernel_size[0],
        "dropout": encoder.dropout.p,
    }
    return {**shape, "state_dict": encoder.state_dict()} if weights else shape


def load_encoder(state: dict[str, Any]) -> DilatedConvEncoder:
    """Inverse of :func:`encoder_state`."""
    enc = DilatedConvEncoder(
        state["in_channels"],
        out_dim=state["out_dim"],
        hidden=state["hidden"],
        depth=state["depth"],
        kernel_size=state["kernel_size"],
        dropout=state["dropout"],
    )
    enc.load_state_dict(state["state_dict"])
    return enc
