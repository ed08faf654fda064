"""Specifications of the SimCSE-family losses: loop references in float64, gradients, chunked and
gathered variants, sentence-transformers' MultipleNegativesRankingLoss as an independent reference,
and the adapters' input rules and state (queue, momentum copy)."""

from __future__ import annotations

import math

import pytest
import torch
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from contrastkit.text import (
    DebiasedSimCSELoss,
    ESimCSELoss,
    SupSimCSELoss,
    UnsupSimCSELoss,
    embed,
    inverse_propensity_weights,
    load_model,
    objectives,
    token_dice,
)

SENTENCES = [
    "A man is playing a guitar.",
    "A woman is slicing an onion.",
    "Two dogs run across a snowy field.",
    "The stock market fell sharply today.",
]


@pytest.fixture(scope="module")
def model():
    return load_model(max_seq_length=32, device="cpu")


# ---------------------------------------------------------------- slow, obviously-correct references
def cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b) / (float(a.norm()) * float(b.norm()))


def reference_simcse(h, h_plus, shared=None, tau=0.05, dropped=None, weights=None) -> float:
    """Loop form of the paper's loss: positive j = i, negatives = other positives + shared rows.

    dropped[i][j] True removes in-batch negative j of anchor i; weights[i] multiplies term i.
    """
    b = h.shape[0]
    total = 0.0
    for i in range(b):
        positive = math.exp(cos(h[i], h_plus[i]) / tau)
        denominator = positive
        for j in range(b):
            if j != i and not (dropped is not None and dropped[i][j]):
                denominator += math.exp(cos(h[i], h_plus[j]) / tau)
        for m in range(0 if shared is None else shared.shape[0]):
            denominator += math.exp(cos(h[i], shared[m]) / tau)
        total += (1.0 if weights is None else weights[i]) * -math.log(positive / denominator)
    return total / b


def reference_weights(surface, n_bins, max_weight):
    b = len(surface)
    bins = [min(int(s * n_bins), n_bins - 1) for s in surface]
    raw = [b / bins.count(k) for k in bins]
    mean = sum(raw) / b
    clipped = [min(r / mean, max_weight) for r in raw]
    mean = sum(clipped) / b
    return [c / mean for c in clipped]


def embeddings(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---------------------------------------------------------------- math against the references
@pytest.mark.parametrize("b", [2, 5])
@pytest.mark.parametrize("tau", [0.05, 0.5])
def test_unsup_simcse_matches_loop_reference(model, b, tau):
    h, h_plus = embeddings(b, 8, seed=1), embeddings(b, 8, seed=2)
    loss = UnsupSimCSELoss(model, tau).compute_loss_from_embeddings([h, h_plus])
    assert float(loss) == pytest.approx(reference_simcse(h, h_plus, tau=tau), rel=1e-5)


@pytest.mark.parametrize("with_negative", [False, True])
def test_sup_simcse_matches_loop_reference_with_every_hard_negative_of_the_batch(model, with_negative):
    h, h_plus, h_minus = (embeddings(4, 8, seed=s) for s in (1, 2, 3))
    columns = [h, h_plus, h_minus] if with_negative else [h, h_plus]
    loss = SupSimCSELoss(model, 0.1).compute_loss_from_embeddings(columns)
    expected = reference_simcse(h, h_plus, h_minus if with_negative else None, tau=0.1)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("queue_len", [0, 3])
def test_esimcse_matches_loop_reference_with_queue_negatives(model, queue_len):
    h, h_plus, queue = embeddings(4, 8, seed=1), embeddings(4, 8, seed=2), embeddings(queue_len, 8, seed=3)
    loss = ESimCSELoss(model, 0.1).compute_loss_from_embeddings([h, h_plus], queue)
    assert float(loss) == pytest.approx(reference_simcse(h, h_plus, queue, tau=0.1), rel=1e-5)


@pytest.mark.parametrize("threshold", [1.0, 0.3, -1.0])
def test_debiased_matches_loop_reference(model, threshold):
    h, h_plus = embeddings(5, 8, seed=1), embeddings(5, 8, seed=2)
    r, r_plus = embeddings(5, 8, seed=3), embeddings(5, 8, seed=4)
    surface = torch.tensor([0.1, 0.15, 0.5, 0.55, 0.95], dtype=torch.float64)
    loss_fn = DebiasedSimCSELoss(model, 0.1, false_negative_threshold=threshold, n_bins=4, max_weight=1.5)
    loss = loss_fn.compute_loss_from_embeddings([h, h_plus], [r, r_plus], surface)
    dropped = [[cos(r[i], r_plus[j]) > threshold for j in range(5)] for i in range(5)]
    weights = reference_weights(surface.tolist(), 4, 1.5)
    expected = reference_simcse(h, h_plus, tau=0.1, dropped=dropped, weights=weights)
    assert float(loss) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_debiased_with_every_negative_dropped_is_zero_and_without_drops_is_simcse(model):
    h, h_plus = embeddings(4, 8, seed=1), embeddings(4, 8, seed=2)
    same = torch.ones(4, dtype=torch.float64)
    keep_all = DebiasedSimCSELoss(model, 0.1, false_negative_threshold=1.0)
    drop_all = DebiasedSimCSELoss(model, 0.1, false_negative_threshold=-1.0)
    unsup = UnsupSimCSELoss(model, 0.1).compute_loss_from_embeddings([h, h_plus])
    ref = [h, h]
    assert float(keep_all.compute_loss_from_embeddings([h, h_plus], ref, same)) == pytest.approx(float(unsup))
    assert float(drop_all.compute_loss_from_embeddings([h, h_plus], ref, same)) == pytest.approx(0.0, abs=1e-7)


def test_debiased_threshold_one_keeps_a_duplicate_whose_cosine_rounds_above_one(model):
    model.eval()
    batch = model.preprocess([SENTENCES[0], SENTENCES[1], SENTENCES[0], SENTENCES[2]])  # rows 0 and 2 the same
    with torch.no_grad():
        keep_all = DebiasedSimCSELoss(model, 0.05, false_negative_threshold=1.0)([batch], None)
        unsup = UnsupSimCSELoss(model, 0.05)([batch], None)
    # Was 0: the frozen copy's cosine of the duplicate came out as 1.0000001 > 1.0, so it was dropped.
    assert float(keep_all) == pytest.approx(float(unsup), rel=1e-6) and float(unsup) > 0.1


@pytest.mark.parametrize(
    ("surface", "n_bins", "max_weight"),
    [([0.1, 0.1, 0.1, 0.9], 5, 3.0), ([0.1, 0.1, 0.1, 0.9], 5, 1.2), ([0.0, 0.3, 0.5, 1.0, 1.0, 0.99], 3, 3.0)],
)
def test_inverse_propensity_weights_match_their_definition(surface, n_bins, max_weight):
    weights = inverse_propensity_weights(torch.tensor(surface), n_bins=n_bins, max_weight=max_weight)
    assert weights.tolist() == pytest.approx(reference_weights(surface, n_bins, max_weight))
    assert float(weights.mean()) == pytest.approx(1.0)


def test_inverse_propensity_weights_favour_the_rare_surface_similarity():
    weights = inverse_propensity_weights(torch.tensor([0.9, 0.9, 0.9, 0.2]))
    assert weights[3] > weights[0] == weights[1] == weights[2]
    assert inverse_propensity_weights(torch.full((6,), 0.7)).tolist() == pytest.approx([1.0] * 6)


def test_token_dice_is_multiset_overlap_without_special_and_padding_tokens():
    a = {"input_ids": torch.tensor([[101, 5, 6, 7, 102, 0], [101, 8, 8, 102, 0, 0]]),
         "attention_mask": torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]])}
    b = {"input_ids": torch.tensor([[101, 5, 6, 102, 0], [101, 8, 8, 8, 102]]),
         "attention_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])}
    # Row 0: {5,6,7} vs {5,6} -> 2*2/5. Row 1: {8,8} vs {8,8,8} -> 2*2/5.
    assert token_dice(a, b, special_ids=[0, 101, 102]).tolist() == pytest.approx([0.8, 0.8])
    assert token_dice(a, a, special_ids=[0, 101, 102]).tolist() == pytest.approx([1.0, 1.0])


# ---------------------------------------------------------------- gradients and variants
def _grads(fn, tensors):
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    loss = fn(leaves)
    loss.backward()
    return loss.detach(), [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("make", [UnsupSimCSELoss, SupSimCSELoss])
def test_chunked_loss_has_the_same_value_and_gradients(model, make):
    tensors = [embeddings(7, 8, seed=s).float() for s in range(3 if make is SupSimCSELoss else 2)]
    dense, dense_grads = _grads(make(model, 0.05).compute_loss_from_embeddings, tensors)
    tiled, tiled_grads = _grads(make(model, 0.05, chunk_size=3).compute_loss_from_embeddings, tensors)
    assert torch.allclose(dense, tiled, atol=1e-5)
    for g_dense, g_tiled in zip(dense_grads, tiled_grads, strict=True):
        assert torch.allclose(g_dense, g_tiled, atol=1e-5)


def test_esimcse_chunked_with_queue_has_the_same_value_and_gradients(model):
    h, h_plus, queue = embeddings(6, 8, seed=1).float(), embeddings(6, 8, seed=2).float(), embeddings(4, 8).float()
    dense, g1 = _grads(lambda t: ESimCSELoss(model, 0.05).compute_loss_from_embeddings(t, queue), [h, h_plus])
    tiled, g2 = _grads(lambda t: ESimCSELoss(model, 0.05, chunk_size=4).compute_loss_from_embeddings(t, queue), [h, h_plus])
    assert torch.allclose(dense, tiled, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g1, g2, strict=True))


@pytest.mark.parametrize("make", [UnsupSimCSELoss, SupSimCSELoss, DebiasedSimCSELoss])
def test_gather_distributed_without_a_process_group_equals_local(model, make):
    tensors = [embeddings(4, 8, seed=s).float() for s in range(3 if make is SupSimCSELoss else 2)]
    extra = ([tensors[0], tensors[1]], torch.rand(4)) if make is DebiasedSimCSELoss else ()
    local = make(model, 0.1).compute_loss_from_embeddings(tensors, *extra)
    gathered = make(model, 0.1, gather_distributed=True).compute_loss_from_embeddings(tensors, *extra)
    assert torch.allclose(local, gathered)


def test_gradcheck_of_every_loss(model):
    """Analytic gradients vs finite differences, at gradcheck's default tolerances (float64 throughout)."""
    h, h_plus, h_minus = (embeddings(3, 4, seed=s).requires_grad_(True) for s in (1, 2, 3))
    queue, surface = embeddings(2, 4, seed=4), torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    unsup, sup = UnsupSimCSELoss(model, 0.5), SupSimCSELoss(model, 0.5)
    esimcse, debiased = ESimCSELoss(model, 0.5), DebiasedSimCSELoss(model, 0.5, false_negative_threshold=0.2)
    ref = [h.detach(), h_plus.detach()]
    assert unsup.compute_loss_from_embeddings([h, h_plus]).dtype == torch.float64
    assert torch.autograd.gradcheck(lambda a, b: unsup.compute_loss_from_embeddings([a, b]), (h, h_plus))
    assert torch.autograd.gradcheck(lambda a, b, c: sup.compute_loss_from_embeddings([a, b, c]), (h, h_plus, h_minus))
    assert torch.autograd.gradcheck(lambda a, b: esimcse.compute_loss_from_embeddings([a, b], queue), (h, h_plus))
    assert torch.autograd.gradcheck(lambda a, b: debiased.compute_loss_from_embeddings([a, b], ref, surface), (h, h_plus))


def test_same_math_as_sentence_transformers_multiple_negatives_ranking_loss(model):
    """MNRL (scale = 1/temperature) is the reference implementation of (supervised) SimCSE."""
    h, h_plus, h_minus = (embeddings(6, 8, seed=s).float() for s in (1, 2, 3))
    mnrl = MultipleNegativesRankingLoss(model, scale=20.0)
    ours_unsup = UnsupSimCSELoss(model, 0.05).compute_loss_from_embeddings([h, h_plus])
    ours_sup = SupSimCSELoss(model, 0.05).compute_loss_from_embeddings([h, h_plus, h_minus])
    assert torch.allclose(ours_unsup, mnrl.compute_loss_from_embeddings([h, h_plus], None), atol=1e-5)
    assert torch.allclose(ours_sup, mnrl.compute_loss_from_embeddings([h, h_plus, h_minus], None), atol=1e-5)


# ---------------------------------------------------------------- the adapters on a real encoder
def test_unsup_forward_in_eval_mode_is_the_loss_of_identical_views(model):
    model.eval()
    features = model.preprocess(SENTENCES)
    with torch.no_grad():
        h = embed(model, features)
        loss = UnsupSimCSELoss(model, 1.0)([features], None)
    assert float(loss) == pytest.approx(reference_simcse(h.double(), h.double(), tau=1.0), rel=1e-4)


def test_unsup_forward_in_train_mode_uses_two_dropout_views_and_backpropagates(model):
    model.train()
    torch.manual_seed(0)
    loss = UnsupSimCSELoss(model)([model.preprocess(SENTENCES)], None)
    loss.backward()
    grad = next(p for p in model.parameters() if p.grad is not None).grad
    assert torch.isfinite(loss) and float(loss.detach()) > 0 and grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_sup_and_debiased_forward_are_their_loss_of_the_encoded_columns(model):
    # In eval mode the encoder is deterministic and equals the debiased loss's frozen copy, so the
    # forward pass must be the loop reference of the embedded columns.
    model.eval()
    # Positive 0 repeats its anchor (surface overlap 1, the others' is low) and positive 3 repeats
    # anchor 0, a false negative of it.
    positives = [SENTENCES[0], SENTENCES[2], SENTENCES[1], SENTENCES[0]]
    a, p, n = (model.preprocess(s) for s in (SENTENCES, positives, SENTENCES[1:] + SENTENCES[:1]))
    with torch.no_grad():
        h, h_plus, h_minus = (embed(model, f).double() for f in (a, p, n))
        assert float(SupSimCSELoss(model, 0.1)([a, p, n], None)) == pytest.approx(
            reference_simcse(h, h_plus, h_minus, tau=0.1), rel=1e-4
        )
        # At this threshold some negatives of both calls are dropped, and at 4 bins the weights differ.
        debiased = DebiasedSimCSELoss(model, 0.1, false_negative_threshold=0.05, n_bins=4)
        weights = reference_weights(token_dice(a, p, model.tokenizer.all_special_ids).tolist(), 4, 3.0)
        dropped = [[cos(h[i], h_plus[j]) > 0.05 for j in range(4)] for i in range(4)]
        assert len(set(weights)) > 1 and sum(map(sum, dropped)) > 0
        assert float(debiased([a, p], None)) == pytest.approx(
            reference_simcse(h, h_plus, tau=0.1, dropped=dropped, weights=weights), rel=1e-4
        )
        # One column: dropout positives, whose surface overlap is 1 for every pair (weights 1).
        dropped = [[i != j and cos(h[i], h[j]) > 0.05 for j in range(4)] for i in range(4)]
        assert sum(map(sum, dropped)) > 0
        assert float(debiased([a], None)) == pytest.approx(
            reference_simcse(h, h, tau=0.1, dropped=dropped), rel=1e-4, abs=1e-6
        )


def test_esimcse_updates_the_momentum_copy_and_queue_only_while_training():
    model = load_model(max_seq_length=32, device="cpu")
    loss_fn = ESimCSELoss(model, queue_size=6, momentum=0.5)
    features = model.preprocess(SENTENCES)
    model.eval()
    with torch.no_grad():
        loss_fn([features], None)
    assert len(loss_fn.queue) == 0
    model.train()
    loss = loss_fn([features], None)
    assert len(loss_fn.queue) == len(SENTENCES)
    loss.backward()
    online = next(model.parameters())
    before = next(loss_fn.momentum_encoder.parameters()).clone()
    with torch.no_grad():
        online.add_(1.0)
    loss_fn([features], None)  # the next step first moves the copy half-way (momentum 0.5) to the online weights
    after = next(loss_fn.momentum_encoder.parameters())
    assert torch.allclose(after, 0.5 * before + 0.5 * online.detach(), atol=1e-6)
    assert len(loss_fn.queue) == 6  # capacity reached: the oldest keys were replaced


def test_esimcse_forward_contrasts_repeated_positives_with_the_queue_before_this_batch(monkeypatch):
    # The loss of a step: anchors h, word-repetition positives h+ and the keys queued by *earlier* steps
    # (MoCo's order: this step's keys are enqueued after its loss). The submodules run in eval mode (no
    # dropout, so the encoder is deterministic) while the model itself is in train mode (the queue updates).
    model = load_model(max_seq_length=32, device="cpu")
    model.train()
    for module in list(model.modules())[1:]:
        module.eval()
    features = model.preprocess(SENTENCES)
    with torch.no_grad():
        h = embed(model, features).double()
        assert torch.equal(h, embed(model, features).double())
    seen, real_repetition = [], objectives.word_repetition

    def spy(*args, **kwargs):
        seen.append(real_repetition(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(objectives, "word_repetition", spy)
    loss_fn = ESimCSELoss(model, 0.1, repetition_rate=1.0, queue_size=8)
    torch.manual_seed(0)
    for step in range(2):
        queued = loss_fn.queue.negatives().detach().double().clone()
        assert queued.shape[0] == 4 * step
        if step:  # the previous step's original sentences under the momentum copy (equal to the model here)
            torch.testing.assert_close(queued, h, rtol=1e-5, atol=1e-6)
        loss = loss_fn([features], None)
        (repeated,) = seen[step:]
        assert repeated["input_ids"].shape != features["input_ids"].shape  # tokens were repeated
        with torch.no_grad():
            h_plus = embed(model, repeated).double()
        assert float(loss.detach()) == pytest.approx(reference_simcse(h, h_plus, queued, tau=0.1), rel=1e-4)
    assert float(loss.detach()) != pytest.approx(reference_simcse(h, h_plus, None, tau=0.1), rel=1e-4)


def test_the_frozen_copies_receive_no_gradient_and_are_not_optimised(model):
    loss_fn = DebiasedSimCSELoss(model)
    trainable = {id(p) for p in loss_fn.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.parameters()}
    assert not any(p.requires_grad for p in loss_fn.reference.parameters())


# ---------------------------------------------------------------- bad input
def test_a_batch_of_one_sentence_is_a_clear_error(model):
    with pytest.raises(ValueError, match="batch of 1 sentence"):
        UnsupSimCSELoss(model)([model.preprocess(["Only one."])], None)


@pytest.mark.parametrize(("make", "n_columns"), [(UnsupSimCSELoss, 2), (SupSimCSELoss, 1), (ESimCSELoss, 3)])
def test_wrong_number_of_columns_is_a_clear_error(model, make, n_columns):
    with pytest.raises(ValueError, match="text column"):
        make(model)([model.preprocess(SENTENCES)] * n_columns, None)


def test_columns_of_different_batch_sizes_are_a_clear_error(model):
    three = model.preprocess(SENTENCES[:3])
    with pytest.raises(ValueError, match=r"one row per anchor; got rows \[4, 4, 3\]"):
        SupSimCSELoss(model)([model.preprocess(SENTENCES)] * 2 + [three], None)


def test_max_seq_length_beyond_the_model_positions_is_refused_at_load():
    with pytest.raises(ValueError, match="max_seq_length 1000 is above the model's 512 positions"):
        load_model(max_seq_length=1000, device="cpu")


def test_untokenized_columns_are_a_type_error(model):
    with pytest.raises(TypeError, match="preprocess"):
        UnsupSimCSELoss(model)([SENTENCES], None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"repetition_rate": 1.5}, "repetition_rate"),
        ({"queue_size": 0}, "queue_size"),
    ],
)
def test_bad_hyper_parameters_are_rejected_at_construction(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ESimCSELoss(model, **kwargs)


def test_config_and_repr_come_from_the_same_fields(model):
    loss_fn = DebiasedSimCSELoss(model, 0.1, n_bins=3)
    config = loss_fn.get_config_dict()
    assert config["temperature"] == 0.1 and config["n_bins"] == 3 and loss_fn.scale == pytest.approx(10.0)
    assert all(f"{k}={v!r}" in repr(loss_fn) for k, v in config.items())
    assert "arxiv.org/abs/2309.07396" in loss_fn.citation


def test_sentences_longer_than_max_seq_length_are_truncated_not_rejected(model):
    model.eval()
    long_sentence = " ".join(["word"] * 300)
    features = model.preprocess([long_sentence, *SENTENCES[:2]])
    assert features["input_ids"].shape[1] == model.max_seq_length == 32
    with torch.no_grad():
        assert torch.isfinite(ESimCSELoss(model)([features], None))
