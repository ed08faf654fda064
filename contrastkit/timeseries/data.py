"""Recordings as a table, windowing into samples, a hierarchy-aware batch sampler, and readers.

The data model is one pandas DataFrame row per recording (a *trial*):

=============  ====================================================================
column         meaning
=============  ====================================================================
``patient_id`` any hashable id; every trial belongs to one patient
``trial_id``   any hashable id, unique within its patient
``label``      optional int class (a patient-level diagnosis or a trial-level state)
``signal``     a ``[C, T]`` float array, or a path to one (``.npy``, ``.csv``/``.parquet``
               with one column per channel)
=============  ====================================================================

Channel names, when known, live in ``df.attrs["channels"]``. :func:`make_windows` cuts every trial
into fixed-length, optionally overlapping windows: the *samples* that COMET contrasts, each with
its trial and patient as integer codes (no strings after this point).
"""

from __future__ import annotations

import gzip
import math
import pickle
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from contrastkit.core import encode_ids, read_csv

REQUIRED_COLUMNS = ("patient_id", "trial_id", "signal")


@dataclass
class WindowDataset:
    """Fixed-length samples with their trial, patient and label codes.

    Attributes:
        x: ``[N, C, T]`` float32 signals.
        patient: ``[N]`` long patient codes (``patient_names[code]`` is the original id).
        trial: ``[N]`` long trial codes, unique across patients.
        label: ``[N]`` long labels, ``-1`` where unknown.
        patient_names: original patient ids, indexed by code.
        channels: channel names (``C`` of them) or ``ch0..`` when unknown.
    """

    x: Tensor
    patient: Tensor
    trial: Tensor
    label: Tensor
    patient_names: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if self.x.dim() != 3:
            raise ValueError(f"WindowDataset: x must be [N, C, T]; got shape {tuple(self.x.shape)}.")
        for name in ("patient", "trial", "label"):
            ids = getattr(self, name)
            if ids.shape != (n,) or ids.dtype != torch.long:
                raise ValueError(
                    f"WindowDataset: {name} must be a long tensor of shape ({n},); "
                    f"got {ids.dtype} {tuple(ids.shape)}."
                )

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def has_labels(self) -> bool:
        return len(self) > 0 and bool((self.label >= 0).all())

    def subset(self, index: Tensor | np.ndarray | Sequence[int]) -> WindowDataset:
        """The samples at ``index``: integer positions or a bool mask ``[N]`` (codes and names are kept,
        so subsets stay comparable)."""
        arr = index.detach().cpu().numpy() if isinstance(index, Tensor) else np.asarray(index)
        n = len(self)
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise ValueError(f"WindowDataset.subset: a bool mask must be [N]={n}; got {arr.shape}.")
            arr = np.flatnonzero(arr)
        elif arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"WindowDataset.subset: index must be integer positions or a bool mask; got {arr.dtype}.")
        if arr.size and (arr.min() < -n or arr.max() >= n):
            raise ValueError(f"WindowDataset.subset: positions must lie in [0, {n}); got [{arr.min()}, {arr.max()}].")
        idx = torch.as_tensor(arr.reshape(-1), dtype=torch.long)
        return WindowDataset(
            self.x[idx], self.patient[idx], self.trial[idx], self.label[idx], self.patient_names, self.channels
        )

    def normalized(self, mean: Tensor, std: Tensor) -> WindowDataset:
        """Per-channel z-scores with statistics ``[C]`` (take them from the training split only)."""
        x = (self.x - mean[None, :, None]) / std[None, :, None]
        return WindowDataset(x, self.patient, self.trial, self.label, self.patient_names, self.channels)

    def channel_stats(self) -> tuple[Tensor, Tensor]:
        """Per-channel mean and std ``[C]`` over samples and time (std of flat channels is 1)."""
        mean = self.x.mean(dim=(0, 2))
        std = self.x.std(dim=(0, 2))
        return mean, torch.where(std > 0, std, torch.ones_like(std))


def _check_channel_columns(columns: Sequence[object], where: str) -> None:
    """Refuse the columns that pandas writes or reads beside the channels: an index saved by
    ``df.to_csv(path)`` ("Unnamed: 0") would otherwise become a channel holding row numbers."""
    unnamed = [str(c) for c in columns if str(c).startswith("Unnamed:")]
    if unnamed:
        raise ValueError(
            f"{where}: columns {unnamed} have no name: a saved pandas index? Every column but the ids and "
            "the label is read as a channel; write the file with index=False."
        )


RESERVED_COLUMNS = ("patient_id", "trial_id", "label")


def _check_no_metadata_columns(table: pd.DataFrame, channel_cols: Sequence[object], where: str) -> None:
    """Refuse a long table's channel column that is really per-trial metadata: a misspelt ``label``
    ("Label", "labels", "diagnosis"...) would otherwise be read as a channel, and the trials would
    lose their labels without a word. A signal varies within a trial; a column of whole numbers
    that never does, but differs between trials, is a label or an id. (A channel that is constant
    over the whole file, e.g. a dead electrode, is left alone.)"""
    near = [str(c) for c in channel_cols if str(c).strip().lower().rstrip("s") in RESERVED_COLUMNS]
    if near:
        raise ValueError(
            f"read_recordings: {where}: columns {near} look like {list(RESERVED_COLUMNS)} misspelt; "
            "every other column is read as a channel. Rename them exactly, or drop them."
        )
    values = table[list(channel_cols)]
    grouped = values.groupby([table["patient_id"], table["trial_id"]], sort=False)
    if grouped.ngroups < 2:
        return
    within = (grouped.max() == grouped.min()).all()
    between = values.nunique() > 1
    whole = (values.fillna(0) % 1 == 0).all()
    meta = [str(c) for c in values.columns[(within & between & whole).to_numpy()]]
    if meta:
        raise ValueError(
            f"read_recordings: {where}: columns {meta[:5]} hold one whole number per trial, which differs "
            "between trials: a label or an id, not a signal. Name a label column 'label', drop ids."
        )


def load_signal(value: object, base: Path | None = None) -> np.ndarray:
    """A ``[C, T]`` float32 array from an array or a path (``.npy``, ``.csv``, ``.parquet``).

    Table files hold one column per channel and one row per time step, and are transposed.
    """
    if isinstance(value, (str, Path)):
        path = Path(value)
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.exists():
            raise ValueError(f"load_signal: signal file {path} does not exist; fix the 'signal' column.")
        if path.suffix == ".npy":
            try:
                arr = np.load(path)
            except (ValueError, OSError, EOFError) as error:  # truncated, pickled or not an .npy at all
                raise ValueError(f"load_signal: cannot read {path} ({type(error).__name__}: {error}).") from error
        elif path.suffix in (".csv", ".parquet"):
            table = read_csv(path, "load_signal") if path.suffix == ".csv" else pd.read_parquet(path)
            _check_channel_columns(list(table.columns), f"load_signal ({path.name})")
            arr = table.to_numpy().T
        else:
            raise ValueError(f"load_signal: unsupported signal file {path.name}; use .npy, .csv or .parquet.")
    else:
        arr = np.asarray(value)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"load_signal: a signal must be a numeric [C, T] array; got {arr.dtype} {arr.shape}.")
    return arr.astype(np.float32, copy=False)


def check_recordings(df: pd.DataFrame) -> None:
    """Raise ValueError unless ``df`` follows the data model (columns, unique trial ids, no missing ids)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"recordings must be a pandas DataFrame; got {type(df).__name__}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"recordings: missing columns {missing}; the table needs {list(REQUIRED_COLUMNS)} "
            f"(and optionally 'label'); got {list(df.columns)}."
        )
    if df.empty:
        raise ValueError("recordings: the table is empty.")
    for col in ("patient_id", "trial_id"):
        if df[col].isna().any():
            raise ValueError(f"recordings: {col} has missing values in rows {list(df.index[df[col].isna()][:5])}.")
        # Ids are keyed by their text, so 1 and "1" would merge two patients (or trials) into one.
        if df[col].astype(str).nunique() != df[col].nunique():
            raise ValueError(f"recordings: {col} mixes ids that read the same as text (e.g. 1 and '1'); use one type.")
    dup = df.duplicated(["patient_id", "trial_id"])
    if dup.any():
        raise ValueError(
            f"recordings: (patient_id, trial_id) must be unique per row; duplicated: "
            f"{df.loc[dup, ['patient_id', 'trial_id']].head(3).to_dict('records')}."
        )
    if "label" in df.columns:
        labels = df["label"].dropna()
        numeric = pd.to_numeric(labels, errors="coerce")
        if numeric.isna().any() or not np.allclose(numeric.to_numpy(dtype=float) % 1, 0):
            raise ValueError(
                f"recordings: label must hold integer classes; got {labels.head(3).tolist()}. "
                "Encode them first, e.g. df['label'] = pd.factorize(df['label'])[0]."
            )


def _window_starts(length: int, window: int, stride: int) -> list[int]:
    return list(range(0, length - window + 1, stride))


def make_windows(
    df: pd.DataFrame,
    window: int,
    stride: int | None = None,
    *,
    channels: Sequence[str] | None = None,
    nan_policy: Literal["raise", "drop"] = "raise",
    base: Path | None = None,
) -> WindowDataset:
    """Cut every trial into windows of ``window`` steps, ``stride`` apart (default: no overlap).

    Trials may differ in length; each gives ``floor((T - window) / stride) + 1`` windows (the tail
    is dropped). All trials must have the same channels.

    Args:
        df: recordings (see the module docstring).
        window: samples per window ``T_w``.
        stride: step between window starts (``< window`` overlaps); default ``window``.
        channels: keep only these channel names (needs ``df.attrs["channels"]``), in this order.
        nan_policy: ``"raise"`` on a window with NaN/inf, or ``"drop"`` such windows with one warning.
        base: folder that relative signal paths are resolved against.

    Returns:
        A :class:`WindowDataset` with ``x`` ``[N, C, window]``.

    Raises:
        ValueError: on a malformed table, a trial shorter than ``window``, differing channel counts,
            unknown channel names, or non-finite values with ``nan_policy="raise"``.
    """
    check_recordings(df)
    stride = window if stride is None else stride
    if not isinstance(window, int) or window <= 0 or not isinstance(stride, int) or stride <= 0:
        raise ValueError(f"make_windows: window and stride must be positive ints; got {window!r}, {stride!r}.")
    if nan_policy not in ("raise", "drop"):
        raise ValueError(f"make_windows: nan_policy must be 'raise' or 'drop'; got {nan_policy!r}.")
    names: list[str] | None = df.attrs.get("channels")
    select: list[int] | None = None
    if channels is not None:
        if names is None:
            raise ValueError(
                "make_windows: channels were requested by name but the table has no channel names; "
                "set df.attrs['channels'] = [...] or pass channels=None."
            )
        unknown = [c for c in channels if c not in names]
        if unknown:
            raise ValueError(f"make_windows: unknown channels {unknown}; available: {names}.")
        select = [names.index(c) for c in channels]
        names = list(channels)

    has_label = "label" in df.columns
    xs: list[np.ndarray] = []
    rows: list[int] = []
    n_channels: int | None = None
    dropped = 0
    for row, (pos, rec) in enumerate(zip(df.index, df.itertuples(index=False), strict=True)):
        sig = load_signal(rec.signal, base)
        if select is not None:
            sig = sig[select]
        if n_channels is None:
            n_channels = sig.shape[0]
        elif sig.shape[0] != n_channels:
            raise ValueError(
                f"make_windows: every trial needs the same channels; row {pos!r} has {sig.shape[0]}, "
                f"earlier rows have {n_channels}. Select common channels with channels=[...]."
            )
        if sig.shape[1] < window:
            raise ValueError(
                f"make_windows: trial {rec.trial_id!r} of patient {rec.patient_id!r} has {sig.shape[1]} steps, "
                f"fewer than window={window}. Use a shorter window or drop the trial."
            )
        for start in _window_starts(sig.shape[1], window, stride):
            win = sig[:, start : start + window]
            if not np.isfinite(win).all():
                if nan_policy == "raise":
                    raise ValueError(
                        f"make_windows: trial {rec.trial_id!r} of patient {rec.patient_id!r} has NaN/inf in "
                        f"steps {start}..{start + window - 1}. Clean the signal or pass nan_policy='drop'."
                    )
                dropped += 1
                continue
            xs.append(win)
            rows.append(row)
    if dropped:
        warnings.warn(f"make_windows: dropped {dropped} windows containing NaN/inf.", stacklevel=2)
    if not xs:
        raise ValueError("make_windows: no window survived; check window/stride and the signals.")
    take = np.asarray(rows)
    patient_ids = df["patient_id"].astype(str).to_numpy()[take]
    trial_keys = (df["patient_id"].astype(str) + "\x1f" + df["trial_id"].astype(str)).to_numpy()[take]
    patient = encode_ids(patient_ids)
    if has_label:
        label_col = df["label"].to_numpy(dtype=float)[take]
        label = torch.as_tensor(np.where(np.isnan(label_col), -1, label_col), dtype=torch.long)
    else:
        label = torch.full((len(take),), -1, dtype=torch.long)
    channel_names = names if names is not None else [f"ch{i}" for i in range(int(n_channels or 0))]
    return WindowDataset(
        x=torch.from_numpy(np.stack(xs)),
        patient=patient,
        trial=encode_ids(trial_keys),
        label=label,
        patient_names=list(pd.unique(patient_ids)),
        channels=list(channel_names),
    )


class HierarchicalBatchSampler:
    """Batches of ``patients x trials x samples`` so trial and patient positives exist in every batch.

    Each batch draws ``patients_per_batch`` distinct patients, for each ``trials_per_patient``
    distinct trials (all of them when a patient has fewer) and from each trial
    ``samples_per_trial`` distinct samples (all when fewer). An epoch has
    ``ceil(N / batch_size)`` batches and depends only on ``(seed, epoch)``.

    Args:
        patient: ``[N]`` patient codes.
        trial: ``[N]`` trial codes.
        patients_per_batch: distinct patients per batch (capped at the number of patients).
        trials_per_patient: distinct trials per patient in a batch.
        samples_per_trial: samples per trial in a batch (``>= 2`` gives trial-level pairs).
        seed: base seed of the per-epoch generator.

    Example:
        >>> sampler = HierarchicalBatchSampler(ds.patient, ds.trial, patients_per_batch=4)  # doctest: +SKIP
        >>> for idx in sampler.batches(epoch=0): batch = ds.x[idx]  # doctest: +SKIP
    """

    def __init__(
        self,
        patient: Tensor,
        trial: Tensor,
        *,
        patients_per_batch: int = 4,
        trials_per_patient: int = 4,
        samples_per_trial: int = 2,
        seed: int = 0,
    ) -> None:
        for name, value in (
            ("patients_per_batch", patients_per_batch),
            ("trials_per_patient", trials_per_patient),
            ("samples_per_trial", samples_per_trial),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"HierarchicalBatchSampler: {name} must be an int >= 1; got {value!r}.")
        if patient.shape != trial.shape or patient.dim() != 1 or len(patient) == 0:
            raise ValueError(
                "HierarchicalBatchSampler: patient and trial must be non-empty [N] code tensors of the same "
                f"shape; got {tuple(patient.shape)} and {tuple(trial.shape)}."
            )
        frame = pd.DataFrame({"patient": patient.cpu().numpy(), "trial": trial.cpu().numpy()})
        if (frame.groupby("trial")["patient"].nunique() > 1).any():
            raise ValueError("HierarchicalBatchSampler: a trial code appears under two patients; trial codes "
                             "must be unique across patients (make_windows builds them so).")
        # patient -> list of trials -> sample indices
        self.tree: list[list[np.ndarray]] = [
            [np.asarray(g.index) for _, g in pf.groupby("trial")] for _, pf in frame.groupby("patient")
        ]
        self.n = len(frame)
        self.patients_per_batch = min(patients_per_batch, len(self.tree))
        self.trials_per_patient = trials_per_patient
        self.samples_per_trial = samples_per_trial
        self.seed = seed
        self.epoch = 0

    @property
    def batch_size(self) -> int:
        """The nominal batch size (smaller when patients have fewer trials or samples)."""
        return self.patients_per_batch * self.trials_per_patient * self.samples_per_trial

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's batches as index arrays, reproducible from ``(seed, epoch)``."""
        rng = np.random.default_rng([self.seed, epoch])
        out = []
        for _ in range(len(self)):
            idx = []
            for p in rng.choice(len(self.tree), self.patients_per_batch, replace=False):
                trials = self.tree[p]
                for t in rng.permutation(len(trials))[: self.trials_per_patient]:
                    samples = trials[t]
                    idx.append(rng.permutation(samples)[: self.samples_per_trial])
            out.append(np.concatenate(idx))
        return out

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch that ``__iter__`` yields (the DataLoader ``batch_sampler`` protocol)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        for idx in self.batches(self.epoch):
            yield idx.tolist()


# ---------------------------------------------------------------------------------------------- readers
def read_recordings(path: str | Path) -> pd.DataFrame:
    """Read recordings into the DataFrame model.

    * ``.npz`` with ``signals`` ``[N, C, T]`` (or an object array of ``[C, T_i]``), ``patient_id``
      ``[N]``, ``trial_id`` ``[N]``, optional ``label`` ``[N]`` and ``channels`` ``[C]``.
    * ``.csv`` / ``.parquet`` *index* table with a ``signal`` column of file paths (relative to the
      table's folder), resolved to arrays here.
    * ``.csv`` / ``.parquet`` *long* table: one row per time step with ``patient_id``, ``trial_id``,
      optional ``label`` and one numeric column per channel; rows keep their order within a trial.
      A column that looks like per-trial metadata (a near-miss of ``label``/``patient_id``/``trial_id``,
      or whole numbers constant within each trial but not across trials) is refused, not read as a channel.

    Raises:
        ValueError: on an unknown suffix, missing columns, or a metadata column among the channels.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"read_recordings: {path} does not exist.")
    if path.suffix == ".npz":
        try:
            arrays = dict(np.load(path, allow_pickle=True))
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
            raise ValueError(f"read_recordings: cannot read {path} ({type(error).__name__}: {error}).") from error
        missing = [k for k in ("signals", "patient_id", "trial_id") if k not in arrays]
        if missing:
            raise ValueError(f"read_recordings: {path.name} lacks arrays {missing}; it has {list(arrays)}.")
        lengths = {k: len(arrays[k]) for k in ("signals", "patient_id", "trial_id", "label") if k in arrays}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"read_recordings: {path.name} holds arrays of different lengths {lengths}; one entry per trial.")
        df = pd.DataFrame({"patient_id": arrays["patient_id"], "trial_id": arrays["trial_id"]})
        df["signal"] = list(arrays["signals"])
        if "label" in arrays:
            df["label"] = arrays["label"]
        if "channels" in arrays:
            df.attrs["channels"] = [str(c) for c in arrays["channels"]]
            counts = {np.shape(s)[0] for s in df["signal"] if np.ndim(s) == 2}
            if counts and counts != {len(df.attrs["channels"])}:
                raise ValueError(
                    f"read_recordings: {path.name} names {len(df.attrs['channels'])} channels but its signals have "
                    f"{sorted(counts)}."
                )
        return df
    if path.suffix == ".csv":
        table = read_csv(path, "read_recordings")
    elif path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        raise ValueError(f"read_recordings: unsupported file {path.name}; use .npz, .csv or .parquet.")
    for col in ("patient_id", "trial_id"):
        if col not in table.columns:
            raise ValueError(f"read_recordings: {path.name} needs a {col!r} column; got {list(table.columns)}.")
    if "signal" in table.columns:
        table["signal"] = [load_signal(v, path.parent) for v in table["signal"]]
        return table
    channel_cols = [c for c in table.columns if c not in RESERVED_COLUMNS]
    if not channel_cols:
        raise ValueError(f"read_recordings: {path.name} has neither a 'signal' column nor channel columns.")
    _check_channel_columns(channel_cols, path.name)
    if table.empty:
        raise ValueError(f"read_recordings: {path.name} has a header but no rows.")
    text = [c for c in channel_cols if not pd.api.types.is_numeric_dtype(table[c])]
    if text:  # to_numpy(float32) would fail on the first bad cell without naming the file or column
        raise ValueError(
            f"read_recordings: {path.name}: every column but patient_id, trial_id and label is a channel and must be "
            f"numeric; {text[:5]} are not (e.g. {table[text[0]].dropna().head(3).tolist()})."
        )
    for col in ("patient_id", "trial_id"):  # groupby would drop these rows and leave a gap in the trial
        if table[col].isna().any():
            raise ValueError(
                f"read_recordings: {path.name} has rows without a {col} (table rows "
                f"{table.index[table[col].isna()][:5].tolist()})."
            )
    _check_no_metadata_columns(table, channel_cols, path.name)
    rows = []
    for (pid, tid), g in table.groupby(["patient_id", "trial_id"], sort=False):
        row = {"patient_id": pid, "trial_id": tid, "signal": g[channel_cols].to_numpy(dtype=np.float32).T}
        if "label" in g.columns:
            if g["label"].nunique(dropna=False) > 1:
                raise ValueError(f"read_recordings: trial {tid!r} of patient {pid!r} has several labels.")
            row["label"] = g["label"].iloc[0]
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["channels"] = [str(c) for c in channel_cols]
    return df


def _read_uci_trial(path: Path) -> tuple[str, list[str], np.ndarray]:
    """One SMNI_CMI file -> (paradigm, channel names, ``[64, 256]`` microvolts)."""
    try:
        with gzip.open(path, "rt") as f:
            header = [f.readline() for _ in range(4)]
        data = pd.read_csv(path, sep=" ", comment="#", header=None, usecols=[1, 2, 3], names=["t", "ch", "i", "v"],
                           dtype={"ch": str, "i": np.int64, "v": np.float64})
    except (OSError, EOFError, ValueError) as error:  # not gzip, truncated, or a cell that is no number
        raise ValueError(f"read_uci_eeg: cannot read {path} ({type(error).__name__}: {error}).") from error
    if not header[3].startswith("#") or data.empty:
        raise ValueError(f"read_uci_eeg: {path} is not an SMNI_CMI trial: no '# <paradigm>, trial' header or no values.")
    paradigm = header[3].lstrip("# ").split(",")[0].strip()
    names = list(pd.unique(data["ch"]))
    length = int(data["i"].max()) + 1
    if len(data) != len(names) * length:
        raise ValueError(f"read_uci_eeg: {path} has {len(data)} values, expected {len(names)} x {length}.")
    return paradigm, [str(n) for n in names], data["v"].to_numpy(np.float32).reshape(len(names), length)


def read_uci_eeg(
    root: str | Path,
    *,
    subjects: Sequence[str] | None = None,
    paradigms: Sequence[str] | None = None,
    decimate: int = 1,
) -> pd.DataFrame:
    """The UCI EEG database (``SMNI_CMI_TRAIN``/``TEST``): one row per 1-second trial.

    ``root/<subject>/<subject>.rd.<trial>.gz``; subjects ``co2a*`` are alcoholic (label 1),
    ``co2c*`` controls (label 0). Signals are ``[64, 256 // decimate]`` (256 Hz, averaged over
    ``decimate`` consecutive steps); channel names go to ``df.attrs["channels"]``; the paradigm
    (``"S1 obj"``, ``"S2 match"``, ``"S2 nomatch"``) is a column.

    Args:
        root: the ``SMNI_CMI_TRAIN`` folder.
        subjects: read only these subject folders.
        paradigms: keep only trials of these paradigms.
        decimate: average-pool factor along time (1 keeps 256 Hz).
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"read_uci_eeg: {root} is not a folder; pass the SMNI_CMI_TRAIN directory.")
    if not isinstance(decimate, int) or decimate < 1:
        raise ValueError(f"read_uci_eeg: decimate must be an int >= 1; got {decimate!r}.")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("co2"))
    if subjects is not None:
        unknown = sorted(set(subjects) - {p.name for p in folders})
        if unknown:
            raise ValueError(f"read_uci_eeg: unknown subjects {unknown}; available: {[p.name for p in folders]}.")
        folders = [p for p in folders if p.name in set(subjects)]
    if not folders:
        raise ValueError(f"read_uci_eeg: no subject folders (co2a*/co2c*) under {root}.")
    rows = []
    channels: list[str] | None = None
    seen: set[str] = set()
    for folder in folders:
        for file in sorted(folder.glob("*.gz")):
            paradigm, names, sig = _read_uci_trial(file)
            seen.add(paradigm)
            if paradigms is not None and paradigm not in paradigms:
                continue
            if channels is None:
                channels = names
            elif names != channels:
                raise ValueError(f"read_uci_eeg: {file} lists channels in a different order.")
            if decimate > 1:
                usable = sig.shape[1] // decimate * decimate
                sig = sig[:, :usable].reshape(sig.shape[0], -1, decimate).mean(-1)
            rows.append(
                {
                    "patient_id": folder.name,
                    "trial_id": file.name.split(".")[-2],
                    "label": int(folder.name[3] == "a"),
                    "paradigm": paradigm,
                    "signal": sig,
                }
            )
    unknown_paradigms = sorted(set(paradigms or ()) - seen)
    if unknown_paradigms:  # a misspelt name would silently drop that paradigm's trials
        raise ValueError(f"read_uci_eeg: no trial has paradigms {unknown_paradigms}; the files hold {sorted(seen)}.")
    if not rows:
        raise ValueError(f"read_uci_eeg: no trial matched paradigms={paradigms!r} under {root}.")
    df = pd.DataFrame(rows)
    df.attrs["channels"] = channels
    return df


def synthetic_recordings(
    n_patients: int = 40,
    trials_per_patient: int = 4,
    *,
    n_channels: int = 4,
    length: int = 256,
    noise: float = 1.0,
    label_strength: float = 0.8,
    seed: int = 0,
) -> pd.DataFrame:
    r"""Built-in recordings with patient-, trial- and label-specific structure (no download).

    Trial :math:`k` of patient :math:`p` is, per channel :math:`c` and step :math:`t`,

    .. math:: x_{c,t} = m_{pc} \sin(2\pi f_p t / 64 + \phi_k) + a_k \sin(2\pi g_k t / 64)
        + \beta\, y_p \sin(2\pi 12 t / 64)\, w_c + \sigma \epsilon_{c,t}

    with a patient frequency :math:`f_p` and channel mixing :math:`m_p`, a trial phase, amplitude and
    frequency :math:`(\phi_k, a_k, g_k)`, and the label :math:`y_p = p \bmod 2` adding a 12-cycle
    rhythm of strength :math:`\beta` (``label_strength``) with fixed channel weights :math:`w`, and
    noise :math:`\sigma` (``noise``). Labels are patient-level, like a diagnosis. The default 40
    patients leave 8 for a patient-independent test (with fewer, test AUROC mostly measures which
    two patients were drawn).
    """
    if n_patients < 2 or trials_per_patient < 1 or n_channels < 1 or length < 2:
        raise ValueError(
            "synthetic_recordings: need n_patients >= 2, trials_per_patient >= 1, n_channels >= 1, length >= 2; "
            f"got {n_patients}, {trials_per_patient}, {n_channels}, {length}."
        )
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 64.0
    w = rng.normal(size=n_channels)
    rows = []
    for p in range(n_patients):
        f_p = rng.uniform(2.0, 6.0)
        mix = rng.normal(size=n_channels)
        y = p % 2
        for k in range(trials_per_patient):
            phase, amp, g = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.5), rng.uniform(7.0, 10.0)
            base = mix[:, None] * np.sin(2 * np.pi * f_p * t + phase)[None]
            trial = amp * np.sin(2 * np.pi * g * t)[None] + label_strength * y * w[:, None] * np.sin(2 * np.pi * 12 * t)[None]
            sig = base + trial + noise * rng.normal(size=(n_channels, length))
            rows.append({"patient_id": f"p{p:02d}", "trial_id": f"t{k:02d}", "label": y,
                         "signal": sig.astype(np.float32)})
    df = pd.DataFrame(rows)
    df.attrs["channels"] = [f"ch{i}" for i in range(n_channels)]
    return df
