"""COMET's levels against slow float64 references written from the definitions, plus gradchecks."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from contrastkit.core import info_nce, nt_xent
from contrastkit.timeseries import objectives
from contrastkit.timeseries.objectives import (
    COMET,
    PTB_WEIGHTS,
    LevelWeights,
    NoPositivePairsWarning,
    observation_loss,
    patient_loss,
    sample_loss,
    trial_loss,
)


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    objectives._WARNED.clear()


def _sim(a: torch.Tensor, b: torch.Tensor, similarity: str) -> float:
    if similarity == "cosine":
        return float(a @ b) / (float(a.norm()) * float(b.norm()))
    return float(a @ b)


def reference_stacked(rows: list[torch.Tensor], pos, neg, tau: float, similarity: str) -> float:
    """Mean over rows with a positive of -1/|P| sum_p log(e^{s_ip} / (e^{s_ip} + sum_n e^{s_in})), loops."""
    losses = []
    for i, zi in enumerate(rows):
        positives = [p for p in range(len(rows)) if pos(i, p)]
        if not positives:
            continue
        negatives = [n for n in range(len(rows)) if neg(i, n)]
        terms = []
        for p in positives:
            s_pos = _sim(zi, rows[p], similarity) / tau
            denom = math.exp(s_pos) + sum(math.exp(_sim(zi, rows[n], similarity) / tau) for n in negatives)
            terms.append(-math.log(math.exp(s_pos) / denom))
        losses.append(sum(terms) / len(terms))
    return sum(losses) / len(losses) if losses else 0.0


def reference_observation(z1: torch.Tensor, z2: torch.Tensor, tau: float, max_scales: int = 99) -> float:
    """Per scale: each sample's 2T rows, positive = same step other view, negatives = all other rows."""
    scales = []
    while z1.shape[1] >= 2 and len(scales) < max_scales:
        t = z1.shape[1]
        per_sample = []
        for b in range(z1.shape[0]):
            rows = [z1[b, i] for i in range(t)] + [z2[b, i] for i in range(t)]
            per_sample.append(
                reference_stacked(rows, lambda i, j, t=t: j == (i + t) % (2 * t), lambda i, j, t=t: j != i and
                                  j != (i + t) % (2 * t), tau, "dot")
            )
        scales.append(sum(per_sample) / len(per_sample))
        z1 = torch.stack([torch.maximum(z1[:, 2 * k], z1[:, 2 * k + 1]) for k in range(t // 2)], 1)
        z2 = torch.stack([torch.maximum(z2[:, 2 * k], z2[:, 2 * k + 1]) for k in range(t // 2)], 1)
    return sum(scales) / len(scales)


def reference_group(z1: torch.Tensor, z2: torch.Tensor, ids: list[int], tau: float) -> float:
    """Rows [view1; view2] of max-pooled samples; positives: other samples with the same id."""
    b = len(ids)
    rows = [z1[i].max(0).values for i in range(b)] + [z2[i].max(0).values for i in range(b)]
    return reference_stacked(
        rows,
        lambda i, j: i % b != j % b and ids[i % b] == ids[j % b],
        lambda i, j: ids[i % b] != ids[j % b],
        tau,
        "cosine",
    )


def reference_sample(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    b = z1.shape[0]
    rows = [z1[i].max(0).values for i in range(b)] + [z2[i].max(0).values for i in range(b)]
    return reference_stacked(rows, lambda i, j: j == (i + b) % (2 * b), lambda i, j: j % b != i % b, tau, "cosine")


def views(b: int = 6, t: int = 8, d: int = 5, seed: int = 0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, d, generator=g, dtype=dtype), torch.randn(b, t, d, generator=g, dtype=dtype)


@pytest.mark.parametrize("t", [2, 5, 8])
@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_observation_matches_loop_reference(t: int, tau: float) -> None:
    z1, z2 = views(b=3, t=t)
    got = observation_loss(z1, z2, temperature=tau)
    assert got.item() == pytest.approx(reference_observation(z1, z2, tau), rel=1e-6)


def test_observation_equals_core_info_nce_per_sample_with_gradients() -> None:
    z1, z2 = views(b=4, t=6)
    a1, a2 = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    b1, b2 = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    batched = observation_loss(a1, a2, max_scales=1)
    t = z1.shape[1]
    rows = torch.arange(2 * t)
    pos = rows[None, :] == (rows[:, None] + t) % (2 * t)
    neg = ~pos & ~torch.eye(2 * t, dtype=torch.bool)
    per_sample = torch.stack(
        [
            info_nce(torch.cat([x, y]), torch.cat([x, y]), pos_mask=pos, neg_mask=neg, temperature=1.0, similarity="dot")
            for x, y in zip(b1, b2, strict=True)
        ]
    ).mean()
    torch.testing.assert_close(batched, per_sample.to(batched.dtype))
    batched.backward()
    per_sample.backward()
    torch.testing.assert_close(a1.grad, b1.grad)
    torch.testing.assert_close(a2.grad, b2.grad)


@pytest.mark.parametrize("max_scales", [1, 2])
def test_observation_max_scales_limits_the_hierarchy(max_scales: int) -> None:
    z1, z2 = views(b=2, t=8)
    got = observation_loss(z1, z2, max_scales=max_scales)
    assert got.item() == pytest.approx(reference_observation(z1, z2, 1.0, max_scales), rel=1e-6)
    assert got.item() != pytest.approx(observation_loss(z1, z2).item(), rel=1e-6)


def test_sample_matches_reference_and_core_nt_xent() -> None:
    z1, z2 = views(b=5, t=4)
    got = sample_loss(z1, z2, temperature=0.2)
    assert got.item() == pytest.approx(reference_sample(z1, z2, 0.2), rel=1e-6)
    simclr = nt_xent(z1.amax(1), z2.amax(1), temperature=0.2)
    assert got.item() == pytest.approx(simclr.item(), rel=1e-5)


@pytest.mark.parametrize(
    "ids", [[0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 2, 3], [5, 5, 5, 5, 9, 9], [0, 1, 0, 1, 0, 1]]
)
def test_trial_and_patient_match_reference(ids: list[int]) -> None:
    z1, z2 = views(b=6, t=4)
    codes = torch.tensor(ids)
    expected = reference_group(z1, z2, ids, 0.1)
    assert trial_loss(z1, z2, codes).item() == pytest.approx(expected, rel=1e-6)
    assert patient_loss(z1, z2, codes).item() == pytest.approx(expected, rel=1e-6)


def test_group_level_is_invariant_to_id_relabelling() -> None:
    z1, z2 = views(b=6, t=4)
    a = trial_loss(z1, z2, torch.tensor([0, 0, 1, 1, 2, 2]))
    b = trial_loss(z1, z2, torch.tensor([70, 70, 3, 3, 11, 11]))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "loss",
    [
        lambda a, b: observation_loss(a, b),
        lambda a, b: sample_loss(a, b),
        lambda a, b: trial_loss(a, b, torch.tensor([0, 0, 1, 1])),
        lambda a, b: patient_loss(a, b, torch.tensor([0, 0, 0, 1])),
    ],
    ids=["observation", "sample", "trial", "patient"],
)
def test_gradcheck(loss) -> None:
    z1, z2 = views(b=4, t=4, d=3, seed=3)
    # Perturb ties away: max-pooling is not differentiable where two steps are equal.
    assert torch.autograd.gradcheck(loss, (z1.requires_grad_(), z2.requires_grad_()))


def test_no_positive_pairs_gives_zero_with_one_warning() -> None:
    z1, z2 = views(b=4, t=4, dtype=torch.float32)
    z1.requires_grad_()
    distinct = torch.arange(4)
    with pytest.warns(NoPositivePairsWarning, match="trial level"):
        loss = trial_loss(z1, z2, distinct)
    assert loss.item() == 0.0 and torch.isfinite(loss)
    loss.backward()
    assert torch.equal(z1.grad, torch.zeros_like(z1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trial_loss(z1, z2, distinct).item() == 0.0  # second time: silent


def test_rows_without_positive_are_left_out_not_nan() -> None:
    z1, z2 = views(b=5, t=4)
    ids = [0, 0, 1, 2, 3]  # only samples 0 and 1 have a trial partner
    got = trial_loss(z1, z2, torch.tensor(ids))
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(reference_group(z1, z2, ids, 0.1), rel=1e-6)


def test_comet_is_the_weighted_sum_of_active_levels() -> None:
    z1, z2 = views(b=6, t=8)
    trial, patient = torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([0, 0, 0, 0, 1, 1])
    out = COMET(PTB_WEIGHTS)(z1, z2, trial, patient)
    expected = (
        0.1 * observation_loss(z1, z2)
        + 0.7 * sample_loss(z1, z2)
        + 0.1 * trial_loss(z1, z2, trial)
        + 0.1 * patient_loss(z1, z2, patient)
    )
    torch.testing.assert_close(out["loss"], expected)
    only = COMET({"sample": 1.0, "trial": 2.0})(z1, z2, trial, patient)
    assert sorted(only) == ["loss", "sample", "trial"]
    torch.testing.assert_close(only["loss"], only["sample"] + 2.0 * only["trial"])


def test_comet_passes_its_temperatures_scales_and_ids_to_the_right_levels() -> None:
    # Non-default temperatures and max_scales, and trial and patient weighted and grouped differently,
    # so a level run at its function's default, or on the other level's ids, gives another value.
    z1, z2 = views(b=6, t=8)
    trial, patient = [0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1]
    weights = LevelWeights(observation=0.2, sample=0.3, trial=0.4, patient=0.1)
    comet = COMET(weights, observation_temperature=0.5, temperature=0.3, max_scales=2)
    out = comet(z1, z2, torch.tensor(trial), torch.tensor(patient))
    expected = {
        "observation": reference_observation(z1, z2, 0.5, max_scales=2),
        "sample": reference_sample(z1, z2, 0.3),
        "trial": reference_group(z1, z2, trial, 0.3),
        "patient": reference_group(z1, z2, patient, 0.3),
    }
    for level, value in expected.items():
        assert out[level].item() == pytest.approx(value, rel=1e-6), level
    total = sum(getattr(weights, level) * value for level, value in expected.items())
    assert out["loss"].item() == pytest.approx(total, rel=1e-6)


def test_level_weights_rules() -> None:
    assert LevelWeights() == LevelWeights(0.25, 0.25, 0.25, 0.25)
    assert LevelWeights.equal(["sample", "observation"]) == LevelWeights(0.5, 0.5, 0.0, 0.0)
    assert LevelWeights.equal(["sample"]).active() == ["sample"]
    with pytest.raises(ValueError, match=">= 0"):
        LevelWeights(sample=-1.0)
    with pytest.raises(ValueError, match="weight > 0"):
        LevelWeights(0, 0, 0, 0)
    with pytest.raises(ValueError, match="subset"):
        LevelWeights.equal(["visit"])
    with pytest.raises(ValueError, match="unknown levels"):
        COMET({"visit": 1.0})


def test_bad_inputs_raise_with_the_rule() -> None:
    z1, z2 = views(b=4, t=4)
    with pytest.raises(ValueError, match=r"\[B, T, D\]"):
        sample_loss(z1, z2[:, :3])
    with pytest.raises(ValueError, match="T >= 2"):
        observation_loss(z1[:, :1], z2[:, :1])
    with pytest.raises(TypeError, match="encode_ids"):
        trial_loss(z1, z2, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        patient_loss(z1, z2, torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="at least 2"):
        sample_loss(z1[:1], z2[:1])
    with pytest.raises(TypeError, match="floating"):
        sample_loss(z1.long(), z2.long())
    with pytest.raises(ValueError, match="similarity"):
        observation_loss(z1, z2, similarity="euclid")  # type: ignore[arg-type]
    # An infinite temperature would make the observation level a constant.
    with pytest.raises(ValueError, match="temperature must be a finite number"):
        observation_loss(z1, z2, temperature=float("inf"))
    with pytest.raises(ValueError, match="temperature must be a finite number"):
        COMET(temperature=float("inf"))
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        LevelWeights(observation=float("inf"))


def test_float32_matches_float64() -> None:
    z1, z2 = views(b=6, t=8)
    ids = torch.tensor([0, 0, 1, 1, 2, 2])
    out64 = COMET()(z1, z2, ids, ids // 2)
    out32 = COMET()(z1.float(), z2.float(), ids, ids // 2)
    for key in out64:
        assert out32[key].item() == pytest.approx(out64[key].item(), rel=1e-4)


def test_observation_cosine_option_ignores_scale() -> None:
    z1, z2 = views(b=3, t=4)
    scaled = observation_loss(100 * z1, 100 * z2, similarity="cosine", temperature=0.1)
    torch.testing.assert_close(scaled, observation_loss(z1, z2, similarity="cosine", temperature=0.1))
    assert scaled.item() != pytest.approx(observation_loss(z1, z2, temperature=0.1).item())


def test_a_batch_without_negatives_contributes_zero_not_nan_and_says_so() -> None:
    z1, z2 = views(b=4, t=4)
    same_patient = torch.zeros(4, dtype=torch.long)  # positives everywhere, no negative at all
    with pytest.warns(NoPositivePairsWarning, match="patient level: no row with a positive has a negative"):
        loss = patient_loss(z1, z2, same_patient)
    assert loss.item() == 0.0
    assert loss.item() == pytest.approx(reference_group(z1, z2, [0, 0, 0, 0], 0.1))
    with warnings.catch_warnings():  # one patient without negatives among others is no reason to warn
        warnings.simplefilter("error")
        patient_loss(z1, z2, torch.tensor([0, 0, 1, 1]))
