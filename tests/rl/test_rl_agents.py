"""CurlSAC / CurlDQN: SB3 drop-in behaviour, the update rules they make explicit, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from contrastkit.rl.agents import CurlDQN, CurlSAC
from contrastkit.rl.data import make_pixel_env
from contrastkit.rl.evaluate import curl_accuracy

TINY: dict[str, Any] = dict(
    crop_size=12,
    num_conv_layers=2,
    num_filters=4,
    features_dim=8,
    batch_size=8,
    learning_starts=8,
    buffer_size=200,
    seed=0,
    device="cpu",
)


def _sac(**overrides: Any) -> CurlSAC:
    env = make_pixel_env("pixel-pendulum", image_size=16, frame_stack=2, seed=0)
    return CurlSAC("CnnPolicy", env, policy_kwargs={"net_arch": [16]}, **{**TINY, **overrides})


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_curl_sac_learns_saves_and_loads_like_sac(tmp_path: Path) -> None:
    model = _sac().learn(40)
    assert model.num_timesteps == 40 and model._n_updates > 0
    assert model.replay_buffer.observations.dtype == np.uint8  # type: ignore[union-attr]
    obs = model.env.reset()  # type: ignore[union-attr]
    action, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "curl_sac.zip")
    loaded = CurlSAC.load(tmp_path / "curl_sac.zip", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], action)
    for a, b in zip(model.curl.state_dict().values(), loaded.curl.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # W and the key encoder travel with the zip
    assert loaded.crop_size == 12 and loaded.curl_weight == 1.0


def _ids(optimizer: torch.optim.Optimizer) -> set[int]:
    return {id(p) for g in optimizer.param_groups for p in g["params"]}


@pytest.mark.parametrize("curl_update", ["separate", "joint"])
def test_which_optimizer_trains_what_and_the_actor_never_touches_the_encoder(curl_update: str) -> None:
    model = _sac(curl_update=curl_update)
    encoder_ids, w = {id(p) for p in model.encoder.parameters()}, id(model.curl.similarity.W)
    assert model.actor.features_extractor is model.encoder  # shared encoder ...
    assert not encoder_ids & _ids(model.actor.optimizer)  # ... that the actor's optimizer leaves out
    assert encoder_ids <= _ids(model.critic.optimizer)  # TD trains the encoder in both forms
    if curl_update == "joint":  # one optimizer for the summed loss
        assert w in _ids(model.critic.optimizer) and not hasattr(model, "curl_optimizer")
    else:  # the CURL step has its own: encoder and W
        assert w not in _ids(model.critic.optimizer) and _ids(model.curl_optimizer) == encoder_ids | {w}


def test_the_separate_curl_step_moves_the_encoder_by_the_contrastive_loss_alone(monkeypatch) -> None:
    # The summed step let SAC's TD gradient (tens of times larger) set Adam's scale; the separate step
    # is an Adam step of its own on the CURL loss: it moves the encoder after the TD step.
    model = _sac(encoder_tau=0.3, curl_update="separate")
    model.learn(8)
    after_td = {}
    step = model.critic.optimizer.step

    def record(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = step(*args, **kwargs)
        after_td["encoder"] = _params(model.encoder)
        return out

    monkeypatch.setattr(model.critic.optimizer, "step", record)
    w = model.curl.similarity.W.detach().clone()
    model.train(gradient_steps=1, batch_size=8)
    assert _changed(after_td["encoder"], model.encoder) and not torch.equal(w, model.curl.similarity.W)
    with pytest.raises(ValueError, match="curl_update must be one of"):
        _sac(curl_update="twice")


def test_a_gradient_step_follows_the_documented_update_rule() -> None:
    model = _sac(encoder_tau=0.3)
    model.learn(8)  # fills the buffer; learning starts after 8 steps, so no update yet
    assert model._n_updates == 0
    encoder, w, key = (
        _params(model.encoder),
        model.curl.similarity.W.detach().clone(),
        _params(model.curl.key_encoder),
    )
    actor_heads = _params(model.actor.mu)
    model.train(gradient_steps=1, batch_size=8)
    assert _changed(encoder, model.encoder) and _changed(actor_heads, model.actor.mu)
    assert not torch.equal(w, model.curl.similarity.W)
    # Step 0 is an EMA step of the key encoder: key <- 0.7 key + 0.3 online (after the update).
    for old, new, online in zip(
        key, model.curl.key_encoder.parameters(), model.encoder.parameters(), strict=True
    ):
        torch.testing.assert_close(new, 0.7 * old + 0.3 * online.detach())
    key = _params(model.curl.key_encoder)
    model.train(gradient_steps=1, batch_size=8)  # step 1: key_update_interval=2 skips it
    assert not _changed(key, model.curl.key_encoder)


def test_unaugmented_pixel_sac_trains_on_center_crops() -> None:
    model = _sac(curl_weight=0.0, augmentation="none")
    model.learn(8)
    obs = model.replay_buffer.sample(4).observations  # type: ignore[union-attr]
    assert torch.equal(model.curl.augment(obs), model.curl.augment(obs))
    model.train(gradient_steps=1, batch_size=8)
    assert model._n_updates == 1


def test_curl_weight_zero_is_pixel_sac_without_the_contrastive_loss() -> None:
    model = _sac(curl_weight=0.0)
    model.learn(8)
    w = model.curl.similarity.W.detach().clone()
    model.train(gradient_steps=2, batch_size=8)
    assert torch.equal(w, model.curl.similarity.W)


@pytest.mark.parametrize("augmentation", ["crop", "shift"])
def test_curl_dqn_learns_saves_and_loads_like_dqn(tmp_path: Path, augmentation: str) -> None:
    env = make_pixel_env("pixel-cartpole", image_size=16, frame_stack=2, seed=0)
    model = CurlDQN(
        "CnnPolicy", env, train_freq=1, augmentation=augmentation, policy_kwargs={"net_arch": [16]}, **TINY
    )
    w = model.curl.similarity.W.detach().clone()
    model.learn(30)
    assert model._n_updates > 0 and not torch.equal(w, model.curl.similarity.W)
    obs = model.env.reset()  # type: ignore[union-attr]
    model.save(tmp_path / "curl_dqn.zip")
    loaded = CurlDQN.load(tmp_path / "curl_dqn.zip", device="cpu")
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0]
    )


def test_bad_input_gives_a_clear_error() -> None:
    with pytest.raises(ValueError, match="image observation space"):
        CurlSAC("CnnPolicy", gym.make("Pendulum-v1"), **TINY)
    with pytest.raises(ValueError, match="crop_size must be an int in"):
        _sac(crop_size=17)
    with pytest.raises(ValueError, match="too small for a batch"):
        _sac(buffer_size=4)
    with pytest.raises(ValueError, match="learning_starts"):
        _sac(learning_starts=4)
    with pytest.raises(ValueError, match="actor_update_interval"):
        _sac(actor_update_interval=0)
    with pytest.raises(ValueError, match="curl_weight"):
        _sac(curl_weight=-1.0)
    with pytest.raises(ValueError, match="same view"):
        _sac(augmentation="none")  # CURL on two identical views: nothing to learn
    with pytest.raises(ValueError, match="set by CurlSAC itself"):
        CurlSAC(
            "CnnPolicy",
            make_pixel_env("pixel-pendulum", image_size=16),
            policy_kwargs={"normalize_images": True},
        )


def test_curl_accuracy_is_one_when_views_match_and_chance_level_for_identical_observations() -> None:
    # Full-frame "crops" make both views equal; a copied key encoder and W = I make q_i . q_j the
    # logits, maximal on the diagonal for distinct observations (|q|^2 = D after LayerNorm).
    model = _sac(crop_size=16, encoder_tau=1.0, w_init="identity")
    model.curl.update_key_encoder(model.encoder)
    distinct = torch.randint(0, 256, (8, 6, 16, 16), dtype=torch.uint8)
    assert curl_accuracy(model, distinct) == 1.0
    assert curl_accuracy(model, distinct[:1].expand(8, -1, -1, -1)) == pytest.approx(1 / 8)


def test_entropy_coefficient_has_its_own_adam_outside_the_learning_rate_schedule() -> None:
    model = _sac(learning_rate=lambda _: 5e-4, ent_coef_lr=2e-4, ent_coef_beta=0.5)
    model.learn(8)
    model.train(gradient_steps=2, batch_size=8)
    (group,) = model.ent_coef_optimizer.param_groups  # type: ignore[union-attr]
    assert group["params"] == [model.log_ent_coef]
    assert group["lr"] == 2e-4 and group["betas"] == (0.5, 0.999)
    assert model.critic.optimizer.param_groups[0]["lr"] == 5e-4
    with pytest.raises(ValueError, match="ent_coef_beta"):
        _sac(ent_coef_beta=1.0)


def test_curl_dqn_trains_on_atari_frames() -> None:
    pytest.importorskip("ale_py")
    env = make_pixel_env("atari-pong", image_size=16, frame_stack=2, action_repeat=4, seed=0)
    model = CurlDQN("CnnPolicy", env, train_freq=1, policy_kwargs={"net_arch": [16]}, **TINY)
    w = model.curl.similarity.W.detach().clone()
    model.learn(20)
    assert model._n_updates > 0 and not torch.equal(w, model.curl.similarity.W)
    assert model.replay_buffer.observations.dtype == np.uint8  # type: ignore[union-attr]
