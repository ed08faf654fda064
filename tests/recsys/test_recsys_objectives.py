"""Next-item losses, augmentations and contrastive terms against slow float64 loop references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contrastkit.core import nt_xent
from contrastkit.recsys.data import Batch
from contrastkit.recsys.models import SASRec
from contrastkit.recsys.objectives import (
    CL4SRec,
    DuoRec,
    MCLRec,
    SequentialObjective,
    crop,
    margin_regulariser,
    mask_items,
    next_item_loss,
    random_augment,
    reorder,
    sample_other_items,
    two_view_info_nce,
)


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# ----------------------------------------------------------------------------- next-item losses
def reference_next_item(hidden, targets, items, kind, negatives=None) -> float:
    """The three losses written from their formulas, one position at a time, in float64."""
    h, t, e = hidden.double().tolist(), targets.tolist(), items.double().tolist()
    total = 0.0
    for row, target in enumerate(t):
        pos = dot(h[row], e[target - 1])
        if kind == "ce":
            total += -pos + math.log(sum(math.exp(dot(h[row], item)) for item in e))
        elif kind == "bpr":
            neg = dot(h[row], e[negatives[row][0] - 1])
            total += -math.log(1 / (1 + math.exp(-(pos - neg))))
        else:
            negs = [dot(h[row], e[j - 1]) for j in negatives[row]]
            total += -pos + math.log(math.exp(pos) + sum(math.exp(s) for s in negs))
    return total / len(t)


@pytest.mark.parametrize("kind", ["ce", "bpr", "sampled_softmax"])
@pytest.mark.parametrize("n", [1, 7])
def test_next_item_loss_matches_the_reference(kind: str, n: int) -> None:
    g = torch.Generator().manual_seed(n)
    hidden, items = torch.randn(n, 5, generator=g), torch.randn(9, 5, generator=g)
    targets = torch.randint(1, 10, (n,), generator=g)
    k = 1 if kind == "bpr" else 4
    negatives = sample_other_items(targets, 9, k, torch.Generator().manual_seed(3)).tolist()
    got = next_item_loss(hidden, targets, items, kind=kind, n_negatives=4, generator=torch.Generator().manual_seed(3))
    assert float(got) == pytest.approx(reference_next_item(hidden, targets, items, kind, negatives), rel=1e-5)


def test_sampled_negatives_are_uniform_over_the_other_items() -> None:
    targets = torch.full((20000,), 3)
    draws = sample_other_items(targets, 5, 1, torch.Generator().manual_seed(0)).flatten()
    counts = torch.bincount(draws, minlength=6)
    assert counts[0] == 0 and counts[3] == 0, "never padding, never the target"
    assert counts[[1, 2, 4, 5]].min() > 4500 and counts[[1, 2, 4, 5]].max() < 5500


@pytest.mark.parametrize("kind", ["ce", "bpr", "sampled_softmax"])
def test_next_item_loss_gradcheck(kind: str) -> None:
    hidden = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    items = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([1, 6, 2])

    def loss(h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:  # the same sampled negatives at every evaluation
        return next_item_loss(h, targets, e, kind=kind, n_negatives=3, generator=torch.Generator().manual_seed(1))  # type: ignore[arg-type]

    assert torch.autograd.gradcheck(loss, (hidden, items))


def test_next_item_loss_rejects_bad_targets() -> None:
    with pytest.raises(TypeError, match="integer item indices"):
        next_item_loss(torch.randn(2, 3), torch.tensor([1.0, 2.0]), torch.randn(4, 3))
    # One pair alone has no negative: the contrast would be exactly 0.
    with pytest.raises(ValueError, match="at least 2"):
        two_view_info_nce(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="at least 2"):
        margin_regulariser(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"1\.\.4"):
        next_item_loss(torch.randn(2, 3), torch.tensor([0, 2]), torch.randn(4, 3))
    with pytest.raises(ValueError, match="kind"):
        next_item_loss(torch.randn(2, 3), torch.tensor([1, 2]), torch.randn(4, 3), kind="bce")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- augmentations
def real(row: list[int]) -> list[int]:
    return [x for x in row if x != 0]


BATCH = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 4], [0, 0, 0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 9, 8, 7, 6]])


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.6, 1.0])
def test_crop_keeps_a_contiguous_run_of_floor_eta_n(rate: float) -> None:
    for seed in range(20):
        out = crop(BATCH, rate, torch.Generator().manual_seed(seed))
        for before, after in zip(BATCH.tolist(), out.tolist(), strict=True):
            items, kept = real(before), real(after)
            assert len(kept) == max(1, math.floor(rate * len(items)))
            assert after[len(after) - len(kept) :] == kept, "left-padded"
            assert any(items[s : s + len(kept)] == kept for s in range(len(items))), "a contiguous run"


@pytest.mark.parametrize("rate", [0.0, 0.5, 1.0])
def test_mask_replaces_floor_gamma_n_items(rate: float) -> None:
    out = mask_items(BATCH, rate, mask_token=99, generator=torch.Generator().manual_seed(0))
    for before, after in zip(BATCH.tolist(), out.tolist(), strict=True):
        n = len(real(before))
        assert sum(x == 99 for x in after) == math.floor(rate * n)
        assert all(a in (b, 99) for a, b in zip(after, before, strict=True))
        assert [a == 0 for a in after] == [b == 0 for b in before], "padding is never masked"


@pytest.mark.parametrize("rate", [0.0, 0.5, 1.0])
def test_reorder_shuffles_only_one_contiguous_run(rate: float) -> None:
    changed_any = False
    for seed in range(20):
        out = reorder(BATCH, rate, torch.Generator().manual_seed(seed))
        for before, after in zip(BATCH.tolist(), out.tolist(), strict=True):
            assert sorted(before) == sorted(after)
            diff = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            if diff:
                changed_any = True
                assert diff[-1] - diff[0] + 1 <= math.floor(rate * len(real(before)))
                assert 0 not in after[diff[0] : diff[-1] + 1]
    assert changed_any == (rate > 0)


@pytest.mark.parametrize("augment", [lambda s: crop(s, 0.6), lambda s: mask_items(s, 0.3, 99), lambda s: reorder(s, 0.6)])
def test_augmentations_reject_right_padded_sequences(augment) -> None:
    # A right-padded row would be cropped to padding alone.
    with pytest.raises(ValueError, match="left-padded"):
        augment(torch.tensor([[0, 0, 1, 2], [1, 2, 3, 0]]))


def test_random_augment_uses_each_augmentation() -> None:
    seqs = torch.arange(1, 9).repeat(300, 1)
    out = random_augment(seqs, mask_token=99, generator=torch.Generator().manual_seed(0))
    masked = (out == 99).any(1)
    cropped = (out == 0).any(1)
    reordered = ~masked & ~cropped & (out != seqs).any(1)
    for kind in (masked, cropped, reordered):
        assert 60 < int(kind.sum()) < 140  # about a third each (reorder can be the identity)


# ----------------------------------------------------------------------------- contrastive terms
def reference_two_view(z1, z2, tau, cosine, ids=None) -> float:
    """2N-view InfoNCE from its definition, with Python loops, float64."""
    views = torch.cat([z1, z2]).double().tolist()
    if cosine:
        views = [[x / math.sqrt(dot(v, v)) for x in v] for v in views]
    n = len(z1)
    all_ids = None if ids is None else ids.tolist() * 2
    total = 0.0
    for a in range(2 * n):
        p = (a + n) % (2 * n)
        pos = dot(views[a], views[p]) / tau
        denominator = math.exp(pos)
        for b in range(2 * n):
            if b in (a, p) or (all_ids is not None and all_ids[b] == all_ids[a]):
                continue
            denominator += math.exp(dot(views[a], views[b]) / tau)
        total += -pos + math.log(denominator)
    return total / (2 * n)


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
@pytest.mark.parametrize("with_ids", [False, True])
def test_two_view_info_nce_matches_the_reference(similarity: str, with_ids: bool) -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    ids = torch.tensor([3, 1, 3, 2, 1, 5]) if with_ids else None
    got = two_view_info_nce(z1, z2, temperature=0.7, similarity=similarity, same_ids=ids)
    assert float(got) == pytest.approx(reference_two_view(z1, z2, 0.7, similarity == "cosine", ids), rel=1e-5)


def test_two_view_info_nce_with_cosine_is_nt_xent() -> None:
    z1, z2 = torch.randn(5, 8, requires_grad=True), torch.randn(5, 8, requires_grad=True)
    ours = two_view_info_nce(z1, z2, temperature=0.5, similarity="cosine")
    theirs = nt_xent(z1, z2, temperature=0.5)
    g_ours = torch.autograd.grad(ours, (z1, z2))
    g_theirs = torch.autograd.grad(theirs, (z1, z2))
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g_ours, g_theirs, strict=True))


def test_two_view_info_nce_gradcheck() -> None:
    z1 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([1, 1, 2])
    assert torch.autograd.gradcheck(lambda a, b: two_view_info_nce(a, b, temperature=0.5, same_ids=ids), (z1, z2))


def reference_margin(z1, z2) -> float:
    views = torch.cat([z1, z2]).double().tolist()
    n = len(z1)
    first, second, count = 0.0, 0.0, 0
    for a in range(2 * n):
        p = (a + n) % (2 * n)
        pos = dot(views[a], views[p])
        negs = [dot(views[a], views[b]) for b in range(2 * n) if b not in (a, p)]
        first += max(0.0, pos - max(negs))
        second += sum(max(0.0, max(pos, max(negs)) - s) for s in negs)
        count += len(negs)
    return first / (2 * n) + second / count


def test_margin_regulariser_matches_the_reference() -> None:
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    assert float(margin_regulariser(z1, z2)) == pytest.approx(reference_margin(z1, z2), rel=1e-5)


# ----------------------------------------------------------------------------- objectives on a model
def tiny_batch(n: int = 6, length: int = 5, n_items: int = 12) -> Batch:
    g = torch.Generator().manual_seed(0)
    seqs = torch.randint(1, n_items + 1, (n, length + 1), generator=g)
    seqs[0, :3] = 0  # one padded row
    targets = seqs[:, 1:].clone()
    targets[seqs[:, :-1] == 0] = 0
    return Batch(inputs=seqs[:, :-1], targets=targets, partner=seqs[:, 1:].flip(0))


def test_sasrec_objective_supervises_every_real_position() -> None:
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.0)
    batch = tiny_batch()
    hidden = model.encode(batch.inputs)
    expected = reference_next_item(hidden[batch.targets != 0].detach(), batch.targets[batch.targets != 0],
                                   model.item_embeddings().detach(), "ce")
    assert float(SequentialObjective()(model, batch)["loss"].detach()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "objective", [CL4SRec(), DuoRec(), DuoRec(mask_same_target=False), MCLRec(8), MCLRec(8, views="duorec")]
)
def test_contrastive_objectives_add_a_weighted_term(objective) -> None:
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.1)
    out = objective(model, tiny_batch())
    assert set(out) >= {"loss", "rec", "cl"} and float(out["cl"]) > 0  # so the weighted term is seen
    assert torch.isfinite(out["loss"])
    if isinstance(objective, MCLRec):  # + beta * M of the augmenters after their meta step (not returned), >= 0
        assert float(out["loss"].detach()) >= float(out["rec"] + objective.weight * out["cl"]) - 1e-6
    else:
        assert float(out["loss"].detach()) == pytest.approx(float(out["rec"] + objective.weight * out["cl"]), rel=1e-6)
    out["loss"].backward()
    assert model.item_emb.weight.grad is not None


def test_duorec_masking_removes_same_target_negatives() -> None:
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.0)
    batch = tiny_batch()
    batch = Batch(batch.inputs, torch.cat([batch.targets[:, :-1], torch.tensor([[1], [1], [2], [2], [3], [4]])], 1),
                  batch.partner)
    masked = DuoRec(mask_same_target=True)(model, batch)["cl"]
    kept = DuoRec(mask_same_target=False)(model, batch)["cl"]
    assert float(masked) < float(kept), "fewer negatives -> a smaller InfoNCE"


def test_mclrec_meta_step_updates_only_the_augmenters_and_resumes_exactly() -> None:
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.0)
    objective = MCLRec(8, meta_lr=0.05)
    encoder_before = [p.detach().clone() for p in model.parameters()]
    augmenter_before = [p.detach().clone() for p in objective.augmenters.parameters()]
    out = objective(model, tiny_batch())
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, model.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(augmenter_before, objective.augmenters.parameters(), strict=True))
    out["loss"].backward()
    assert all(p.grad is None for p in objective.augmenters.parameters()), "the encoder step leaves the augmenters alone"
    # The meta optimizer's Adam moments travel in state_dict (exact Trainer resume).
    copy = MCLRec(8, meta_lr=0.05)
    copy.load_state_dict(objective.state_dict())
    assert np.allclose(copy.meta_optimizer.state_dict()["state"][0]["exp_avg"],
                       objective.meta_optimizer.state_dict()["state"][0]["exp_avg"])


def test_mclrec_on_duorec_views_contrasts_exactly_duorecs_pairs() -> None:
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.0)  # no dropout: both see the same views
    batch = tiny_batch()
    batch = Batch(batch.inputs, torch.cat([batch.targets[:, :-1], torch.tensor([[1], [1], [2], [2], [3], [4]])], 1),
                  batch.partner)
    mclrec = MCLRec(8, views="duorec", temperature=0.5, similarity="cosine")(model, batch)
    duorec = DuoRec(mask_same_target=True, temperature=0.5, similarity="cosine")(model, batch)
    assert float(mclrec["cl"]) == pytest.approx(float(duorec["cl"]), rel=1e-6)
    assert float(mclrec["cl"]) != pytest.approx(float(MCLRec(8, temperature=0.5, similarity="cosine")(model, batch)["cl"]))
    with pytest.raises(ValueError, match="views must be one of"):
        MCLRec(8, views="bert4rec")  # type: ignore[arg-type]


def test_mclrec_meta_loss_is_the_sum_over_its_three_pairs() -> None:
    torch.manual_seed(0)
    objective = MCLRec(4, reg_weight=0.1)
    z1, z2 = torch.randn(5, 4), torch.randn(5, 4)
    with torch.no_grad():
        for augmenter in objective.augmenters:  # move them away from the identity they start as
            augmenter.net[2].weight.normal_()
        a1, a2 = objective.augmenters[0](z1), objective.augmenters[1](z2)
        got = float(objective.meta_loss(z1, z2))
    pairs = ((z1, a2), (z2, a1), (a1, a2))
    expected = sum(reference_two_view(x, y, 1.0, cosine=False) + 0.1 * reference_margin(x, y) for x, y in pairs)
    assert got == pytest.approx(expected, rel=1e-5)


def test_mclrec_starts_from_three_copies_of_the_cl4srec_pair() -> None:
    # Identity augmenters: (z1, a2), (z2, a1), (a1, a2) are all the pair (z1, z2), so the encoder's
    # meta term begins as a re-weighted CL4SRec loss instead of a pull towards random projections.
    torch.manual_seed(0)
    objective = MCLRec(4, reg_weight=0.1)
    z1, z2 = 3 * torch.randn(6, 4), 3 * torch.randn(6, 4)
    expected = 3 * (reference_two_view(z1, z2, 1.0, cosine=False) + 0.1 * reference_margin(z1, z2))
    assert float(objective.meta_loss(z1, z2).detach()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("make", [CL4SRec, DuoRec, lambda **kw: MCLRec(8, **kw)])
def test_batches_below_min_pairs_train_on_the_next_item_loss_only(make) -> None:
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.0)
    objective = make(min_pairs=7)
    small = objective(model, tiny_batch(n=6))  # an epoch's incomplete last batch
    assert float(small["cl"]) == 0.0 and float(small["loss"].detach()) == pytest.approx(float(small["rec"]))
    if isinstance(objective, MCLRec):
        assert float(small["meta"]) == 0.0
    full = objective(model, tiny_batch(n=7))
    assert float(full["cl"]) > 0.0 and float(full["loss"].detach()) > float(full["rec"])
    with pytest.raises(ValueError, match="min_pairs must be >= 2"):
        make(min_pairs=1)


def test_mclrec_encoder_loss_is_rec_plus_weighted_cl_plus_beta_meta_in_value_and_gradient() -> None:
    # Without dropout DuoRec's views are deterministic, so L_enc = L_rec + lambda NCE(z1, z2) + beta M can be
    # rebuilt from the loop references, M with the augmenters as the meta step left them; the encoder must
    # receive the gradient of every term (beta M included: the meta step alone trains the augmenters).
    torch.manual_seed(0)
    model = SASRec(12, max_len=5, hidden=8, n_heads=2, dropout=0.0)
    batch = tiny_batch()
    batch = Batch(batch.inputs, torch.cat([batch.targets[:, :-1], torch.tensor([[1], [1], [2], [2], [3], [4]])], 1),
                  batch.partner)
    objective = MCLRec(8, views="duorec", weight=0.3, beta=0.7, reg_weight=0.2, meta_lr=0.05)
    out = objective(model, batch)
    (got_grad,) = torch.autograd.grad(out["loss"], model.item_emb.weight)

    b, ids = batch.inputs.shape[0], batch.targets[:, -1]
    z = model.represent(torch.cat([batch.inputs, batch.partner]))
    z1, z2 = z[:b], z[b:]
    for p in objective.augmenters.parameters():
        p.requires_grad_(False)
    a1, a2 = objective.augmenters[0](z1), objective.augmenters[1](z2)
    pairs = ((z1, a2), (z2, a1), (a1, a2))
    supervised = batch.targets != 0
    rec = reference_next_item(model.encode(batch.inputs)[supervised].detach(), batch.targets[supervised],
                              model.item_embeddings().detach(), "ce")
    cl = reference_two_view(z1.detach(), z2.detach(), 1.0, cosine=False, ids=ids)
    meta = sum(reference_two_view(x.detach(), y.detach(), 1.0, cosine=False, ids=ids)
               + 0.2 * reference_margin(x.detach(), y.detach()) for x, y in pairs)
    assert float(out["loss"].detach()) == pytest.approx(rec + 0.3 * cl + 0.7 * meta, rel=1e-5)
    assert float(out["cl"]) == pytest.approx(cl, rel=1e-5)

    expected = (SequentialObjective()(model, batch)["loss"] + 0.3 * two_view_info_nce(z1, z2, same_ids=ids)
                + 0.7 * sum(two_view_info_nce(x, y, same_ids=ids) + 0.2 * margin_regulariser(x, y) for x, y in pairs))
    (want_grad,) = torch.autograd.grad(expected, model.item_emb.weight)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-4, atol=1e-6)
