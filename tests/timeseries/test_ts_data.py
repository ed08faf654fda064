"""The recordings table, windowing, the hierarchical batch sampler and the readers."""

from __future__ import annotations

import gzip
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import require_data

from contrastkit.timeseries.data import (
    HierarchicalBatchSampler,
    make_windows,
    read_recordings,
    read_uci_eeg,
    synthetic_recordings,
)


def table(lengths=(10, 13), channels: int = 2, patients=("a", "b")) -> pd.DataFrame:
    rows = []
    for p in patients:
        for k, n in enumerate(lengths):
            sig = np.arange(channels * n, dtype=np.float32).reshape(channels, n) + 100 * k
            rows.append({"patient_id": p, "trial_id": k, "label": int(p == "b"), "signal": sig})
    df = pd.DataFrame(rows)
    df.attrs["channels"] = [f"c{i}" for i in range(channels)]
    return df


def test_windows_of_different_length_trials() -> None:
    ds = make_windows(table(lengths=(10, 13)), window=4, stride=3)
    # floor((T - 4) / 3) + 1 windows per trial: 3 for T=10, 4 for T=13; two patients.
    assert ds.x.shape == (2 * (3 + 4), 2, 4)
    first = table().loc[0, "signal"]
    np.testing.assert_array_equal(ds.x[1].numpy(), first[:, 3:7])  # the second window starts at 3
    assert ds.patient.tolist() == [0] * 7 + [1] * 7
    assert len(set(ds.trial.tolist())) == 4  # trial ids repeat across patients but codes do not
    assert ds.label.tolist() == [0] * 7 + [1] * 7
    assert ds.patient_names == ["a", "b"]


def test_subset_takes_positions_or_a_bool_mask() -> None:
    ds = make_windows(table(lengths=(10, 13)), window=4, stride=3)  # 14 windows, patient 1 from 7 on
    mask = np.zeros(len(ds), dtype=bool)
    mask[-5:] = True
    for selected in (ds.subset(mask), ds.subset(torch.from_numpy(mask)), ds.subset(np.arange(9, 14))):
        assert len(selected) == 5 and selected.patient.tolist() == [1] * 5
        torch.testing.assert_close(selected.x, ds.x[9:])
    with pytest.raises(ValueError, match=r"bool mask must be \[N\]=14"):
        ds.subset(mask[:5])
    with pytest.raises(ValueError, match=r"positions must lie in \[0, 14\)"):
        ds.subset([3, 14])
    with pytest.raises(TypeError, match="integer positions or a bool mask"):
        ds.subset(np.array([0.0, 1.0]))


def test_channel_selection_by_name_and_unknown_channels() -> None:
    df = table(channels=3)
    ds = make_windows(df, window=5, channels=["c2", "c0"])
    np.testing.assert_array_equal(ds.x[0].numpy(), df.loc[0, "signal"][[2, 0], :5])
    assert ds.channels == ["c2", "c0"]
    with pytest.raises(ValueError, match=r"unknown channels \['Cz'\]"):
        make_windows(df, window=5, channels=["Cz"])
    df.attrs.clear()
    with pytest.raises(ValueError, match="no channel names"):
        make_windows(df, window=5, channels=["c0"])


def test_nan_windows_raise_or_are_dropped_with_a_warning() -> None:
    df = table(lengths=(8,))
    df.loc[0, "signal"][1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make_windows(df, window=4)
    with pytest.warns(UserWarning, match="dropped 1 windows"):
        ds = make_windows(df, window=4, nan_policy="drop")
    assert len(ds) == 3 and torch.isfinite(ds.x).all()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.drop(columns="trial_id"), "missing columns"),
        (lambda df: df.assign(trial_id=0), "unique"),
        (lambda df: df.assign(patient_id=[None, "a", "b", "b"]), "missing values"),
        (lambda df: df.assign(label=[0.5, 0, 1, 1]), "integer"),
        (lambda df: df.assign(label=["sick", "well", "well", "sick"]), r"integer classes; got \['sick'"),
        (lambda df: df.assign(patient_id=[1, "1", 2, 2], trial_id=[0, 0, 0, 1]), "read the same as text"),
        (lambda df: df.assign(signal=[np.zeros((3, 10))] + list(df.signal[1:])), "same channels"),
        (lambda df: df.assign(signal=[np.zeros((2, 3))] + list(df.signal[1:])), "fewer than window"),
        (lambda df: df.iloc[:0], "empty"),
    ],
)
def test_malformed_tables_raise_with_the_rule(mutate, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_windows(mutate(table(lengths=(10, 10))), window=4)


def test_synthetic_recordings_follow_the_data_model() -> None:
    df = synthetic_recordings(n_patients=4, trials_per_patient=3, n_channels=2, length=32, seed=1)
    assert len(df) == 12 and df.attrs["channels"] == ["ch0", "ch1"]
    assert df.groupby("patient_id")["label"].nunique().max() == 1  # a patient-level diagnosis
    assert sorted(df["label"].unique()) == [0, 1]
    pd.testing.assert_frame_equal(
        df.drop(columns="signal"), synthetic_recordings(4, 3, n_channels=2, length=32, seed=1).drop(columns="signal")
    )
    # Windows of one patient resemble each other more than windows of other patients.
    ds = make_windows(synthetic_recordings(6, 4, n_channels=3, length=128, noise=0.1), window=128)
    feats = torch.nn.functional.normalize(ds.x.flatten(1), dim=1)
    sim = feats @ feats.T
    same = ds.patient[:, None] == ds.patient[None, :]
    off_diag = ~torch.eye(len(ds), dtype=torch.bool)
    assert sim[same & off_diag].abs().mean() > sim[~same].abs().mean()


def test_sampler_composition_and_determinism() -> None:
    patient = torch.arange(5).repeat_interleave(12)  # 5 patients x 4 trials x 3 samples
    trial = torch.arange(20).repeat_interleave(3)
    sampler = HierarchicalBatchSampler(
        patient, trial, patients_per_batch=3, trials_per_patient=2, samples_per_trial=2, seed=7
    )
    batches = sampler.batches(0)
    assert len(batches) == len(sampler) == int(np.ceil(60 / 12))
    for idx in batches:
        assert len(idx) == 12 and len(set(idx.tolist())) == 12
        per_patient = Counter(patient[idx].tolist())
        per_trial = Counter(trial[idx].tolist())
        assert len(per_patient) == 3 and set(per_patient.values()) == {4}
        assert len(per_trial) == 6 and set(per_trial.values()) == {2}
    assert all(np.array_equal(a, b) for a, b in zip(batches, sampler.batches(0), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, sampler.batches(1), strict=True))
    sampler.set_epoch(1)
    assert [list(b) for b in sampler.batches(1)] == list(sampler)


def test_sampler_with_a_single_trial_patient_and_small_trials() -> None:
    patient = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    trial = torch.tensor([0, 0, 0, 1, 1, 2, 3])  # patient 0: one trial; trial 2 and 3: one sample
    sampler = HierarchicalBatchSampler(patient, trial, patients_per_batch=5, trials_per_patient=4, samples_per_trial=2)
    idx = sampler.batches(0)[0]
    assert Counter(patient[idx].tolist()) == {0: 2, 1: 4}


def test_sampler_rejects_bad_arguments() -> None:
    ids = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="samples_per_trial must be an int >= 1"):
        HierarchicalBatchSampler(ids, ids, samples_per_trial=0)
    with pytest.raises(ValueError, match="same shape"):
        HierarchicalBatchSampler(ids, ids[:3])
    with pytest.raises(ValueError, match="two patients"):
        HierarchicalBatchSampler(torch.tensor([0, 1]), torch.tensor([5, 5]))


def test_read_recordings_npz_index_and_long_tables(tmp_path) -> None:
    sig = np.random.default_rng(0).normal(size=(3, 2, 6)).astype(np.float32)
    np.savez(tmp_path / "rec.npz", signals=sig, patient_id=["p", "p", "q"], trial_id=[1, 2, 1], label=[0, 0, 1],
             channels=["Fz", "Cz"])
    df = read_recordings(tmp_path / "rec.npz")
    assert df.attrs["channels"] == ["Fz", "Cz"]
    np.testing.assert_array_equal(make_windows(df, window=6).x.numpy(), sig)

    for i in range(3):
        np.save(tmp_path / f"s{i}.npy", sig[i])
    index = pd.DataFrame({"patient_id": ["p", "p", "q"], "trial_id": [1, 2, 1], "signal": [f"s{i}.npy" for i in range(3)]})
    index.to_csv(tmp_path / "index.csv", index=False)
    np.testing.assert_array_equal(make_windows(read_recordings(tmp_path / "index.csv"), window=6).x.numpy(), sig)

    long = pd.concat(
        pd.DataFrame({"patient_id": p, "trial_id": t, "label": y, "Fz": sig[i, 0], "Cz": sig[i, 1]})
        for i, (p, t, y) in enumerate([("p", 1, 0), ("p", 2, 0), ("q", 1, 1)])
    )
    long.to_parquet(tmp_path / "long.parquet")
    df = read_recordings(tmp_path / "long.parquet")
    assert df.attrs["channels"] == ["Fz", "Cz"] and df["label"].tolist() == [0, 0, 1]
    np.testing.assert_allclose(make_windows(df, window=6).x.numpy(), sig)
    with pytest.raises(ValueError, match="unsupported"):
        (tmp_path / "x.txt").write_text("")
        read_recordings(tmp_path / "x.txt")


def test_read_recordings_refuses_what_would_become_a_wrong_channel_or_a_gap(tmp_path) -> None:
    sig = pd.DataFrame({"Fz": np.arange(6.0), "Cz": np.ones(6)})
    sig.to_csv(tmp_path / "indexed.csv")  # pandas writes its index as an unnamed first column
    index = pd.DataFrame({"patient_id": ["p"], "trial_id": [1], "signal": ["indexed.csv"]})
    index.to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(ValueError, match=r"columns \['Unnamed: 0'\] have no name.*index=False"):
        read_recordings(tmp_path / "index.csv")
    long = sig.assign(patient_id="p", trial_id=[1, 1, 1, None, 1, 1], label=0)
    long.to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(ValueError, match=r"rows without a trial_id \(table rows \[3\]\)"):
        read_recordings(tmp_path / "long.csv")
    long.assign(trial_id=1).to_csv(tmp_path / "long_indexed.csv")
    with pytest.raises(ValueError, match="have no name"):
        read_recordings(tmp_path / "long_indexed.csv")
    long.assign(trial_id=1, label=[0, 0, 0, None, 0, 0]).to_csv(tmp_path / "half_labelled.csv", index=False)
    with pytest.raises(ValueError, match="has several labels"):
        read_recordings(tmp_path / "half_labelled.csv")


def test_a_misspelt_label_column_is_an_error_not_a_channel(tmp_path) -> None:
    trials = [("p", 1, 0), ("p", 2, 0), ("q", 1, 1)]
    long = pd.concat(
        pd.DataFrame({"patient_id": p, "trial_id": t, "Fz": np.sin(np.arange(6.0) + i), "Cz": np.zeros(6), "y": y})
        for i, (p, t, y) in enumerate(trials)
    )
    for name in ("Label", "labels", " trial_ID"):
        long.rename(columns={"y": name}).to_csv(tmp_path / "named.csv", index=False)
        with pytest.raises(ValueError, match=rf"columns \['{name}'\] look like .* misspelt"):
            read_recordings(tmp_path / "named.csv")
    long.rename(columns={"y": "diagnosis"}).to_csv(tmp_path / "diagnosis.csv", index=False)
    with pytest.raises(ValueError, match=r"columns \['diagnosis'\] hold one whole number per trial"):
        read_recordings(tmp_path / "diagnosis.csv")
    # The dead electrode Cz (0 everywhere) and a label that is the same for every trial stay channels.
    long.assign(y=1).rename(columns={"y": "ref"}).to_csv(tmp_path / "flat.csv", index=False)
    assert read_recordings(tmp_path / "flat.csv").attrs["channels"] == ["Fz", "Cz", "ref"]


def test_damaged_recording_files_are_errors_that_name_the_file(tmp_path) -> None:
    sig = np.zeros((2, 2, 6), dtype=np.float32)
    np.savez(tmp_path / "good.npz", signals=sig, patient_id=["p", "q"], trial_id=[1, 1])
    whole = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"read_recordings: cannot read .*cut.npz \(BadZipFile"):
        read_recordings(tmp_path / "cut.npz")
    np.savez(tmp_path / "short.npz", signals=sig, patient_id=["p"], trial_id=[1])
    with pytest.raises(ValueError, match=r"short.npz holds arrays of different lengths"):
        read_recordings(tmp_path / "short.npz")
    np.savez(tmp_path / "names.npz", signals=sig, patient_id=["p", "q"], trial_id=[1, 1], channels=["Fz", "Cz", "Pz"])
    with pytest.raises(ValueError, match=r"names.npz names 3 channels but its signals have \[2\]"):
        read_recordings(tmp_path / "names.npz")
    np.save(tmp_path / "s.npy", sig[0])
    (tmp_path / "cut.npy").write_bytes((tmp_path / "s.npy").read_bytes()[:100])
    pd.DataFrame({"patient_id": ["p"], "trial_id": [1], "signal": ["cut.npy"]}).to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(ValueError, match=r"load_signal: cannot read .*cut.npy"):
        read_recordings(tmp_path / "index.csv")
    (tmp_path / "long.csv").write_text("patient_id,trial_id,Fz,note\np,1,0.5,eyes open\np,1,x,eyes open\n")
    with pytest.raises(ValueError, match=r"long.csv: every column .* must be numeric; \['Fz', 'note'\]"):
        read_recordings(tmp_path / "long.csv")
    (tmp_path / "header.csv").write_text("patient_id,trial_id,Fz\n")
    with pytest.raises(ValueError, match="header.csv has a header but no rows"):
        read_recordings(tmp_path / "header.csv")


def test_a_damaged_uci_eeg_file_is_named(tmp_path) -> None:
    trial = gzip.compress(b"# co2a0000001.rd\n# 120 trials\n# 3.9 msecs uV\n# S1 obj , trial 0\n# FP1 chan 0\n"
                          + b"".join(b"0 FP1 %d 1.5\n" % i for i in range(4)))
    subject = tmp_path / "co2a0000001"
    subject.mkdir()
    (subject / "co2a0000001.rd.000.gz").write_bytes(trial)
    assert read_uci_eeg(tmp_path).loc[0, "signal"].shape == (1, 4)
    for content, message in [
        (trial[: len(trial) // 2], "cannot read .*rd.000.gz \\(EOFError"),  # truncated
        (gzip.decompress(trial), "cannot read .*rd.000.gz \\(BadGzipFile"),  # not compressed
        (b"", ".*rd.000.gz is not an SMNI_CMI trial"),  # was a bare StopIteration
        (gzip.compress(gzip.decompress(trial).replace(b"1 1.5", b"1 abc")),
         "cannot read .*rd.000.gz \\(ValueError"),
    ]:
        (subject / "co2a0000001.rd.000.gz").write_bytes(content)
        with pytest.raises(ValueError, match="read_uci_eeg: " + message):
            read_uci_eeg(tmp_path)


def test_read_uci_eeg_real_files() -> None:
    root = require_data("uci-eeg/SMNI_CMI_TRAIN")
    df = read_uci_eeg(root, subjects=["co2a0000364", "co2c0000337"])
    assert len(df) == 60 and df.groupby("patient_id")["label"].first().to_dict() == {"co2a0000364": 1, "co2c0000337": 0}
    assert df.loc[0, "signal"].shape == (64, 256) and len(df.attrs["channels"]) == 64
    assert set(df["paradigm"]) == {"S1 obj", "S2 match", "S2 nomatch"}
    half = read_uci_eeg(root, subjects=["co2a0000364"], decimate=2, paradigms=["S1 obj"])
    assert len(half) == 10
    first = df[(df.patient_id == "co2a0000364") & (df.trial_id == half.loc[0, "trial_id"])].iloc[0]["signal"]
    np.testing.assert_allclose(half.loc[0, "signal"], first.reshape(64, 128, 2).mean(-1), rtol=1e-6)
    ds = make_windows(df, window=128, stride=64, channels=["CZ", "PZ"])
    assert ds.x.shape == (60 * 3, 2, 128)
    with pytest.raises(ValueError, match="unknown subjects"):
        read_uci_eeg(root, subjects=["nobody"])
    with pytest.raises(ValueError, match=r"no trial has paradigms \['S2 Match'\]; the files hold \['S1 obj'"):
        read_uci_eeg(root, subjects=["co2a0000364"], paradigms=["S1 obj", "S2 Match"])
