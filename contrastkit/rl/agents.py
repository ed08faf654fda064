"""CURL as stable-baselines3 agents: ``SAC("CnnPolicy", env)`` becomes ``CurlSAC("CnnPolicy", env)``.

Both agents keep SB3's ``learn``, ``predict``, ``save`` and ``load``; only the gradient step
(``train``) changes. Per gradient step:

1. Sample a batch; draw one random view of each observation and next observation
   (:meth:`CurlAuxiliary.augment`).
2. Encode the view with the online encoder: the TD features (critic / Q-net) and the CURL queries;
   the key is a second view through the key encoder (an EMA copy).
3. ``loss = td_loss + curl_weight * curl_loss``: one backward pass and **one** optimizer step over
   encoder, heads and ``W``, so the encoder is updated once per gradient step (CURL's reference
   steps it three times: with the critic's optimizer on the TD loss, then twice on the CURL loss
   through ``encoder_optimizer`` and ``cpc_optimizer``). ``CurlSAC(curl_update="separate")`` is
   the reference's order with one CURL step: the critic's optimizer steps encoder and Q heads on
   the TD loss, then the view is encoded again and a CURL optimizer (encoder and ``W``) steps on
   ``curl_weight * curl_loss``. Why it is offered: SAC's TD gradient on the encoder is 62-171x the
   CURL gradient on pixel Pendulum (unscaled returns), so Adam's normalisation of the summed
   gradient leaves the contrastive term little say (that step differed from a TD-only step by
   2.6%). On the benchmark's three Pendulum seeds it did not raise the return and cost 1.8x SAC's
   gradient step (README). ``CurlDQN`` always sums (its Huber TD gradient is ~1.5x the CURL one).
4. ``CurlSAC`` only: every ``actor_update_interval`` steps, the actor and the entropy coefficient
   are updated from the *detached* features: **actor gradients never reach the encoder** (CURL's
   ``detach_encoder=True``); the encoder learns from the TD and contrastive losses alone.
5. Every ``target_update_interval`` steps (``CurlSAC``), the target critic moves towards the critic
   (heads with ``tau``, encoder with ``encoder_tau``); every ``key_update_interval`` steps the key
   encoder moves towards the online encoder with ``encoder_tau``.

``curl_weight=0`` gives the same agent without the contrastive loss (same encoder, augmentation and
schedule): the "pixel SAC" / "pixel DQN" baseline.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.policies import BasePolicy, ContinuousCritic
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.dqn.policies import DQNPolicy
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, SACPolicy
from torch import Tensor, nn

from contrastkit.core import momentum_update

from .models import PixelEncoder, check_pixel_space
from .objectives import Augmentation, CurlAuxiliary

WInit = Literal["uniform", "identity", "random"]
CurlUpdate = Literal["separate", "joint"]
_OWNED_POLICY_KWARGS = (
    "features_extractor_class",
    "features_extractor_kwargs",
    "normalize_images",
    "share_features_extractor",
)


def _pixel_policy_kwargs(
    where: str,
    policy_kwargs: dict[str, Any] | None,
    encoder_kwargs: dict[str, int],
    net_arch: list[int],
    shared: bool,
) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` that plug :class:`PixelEncoder` in; the user's extra keys are kept."""
    user = dict(policy_kwargs or {})
    clash = sorted(k for k in _OWNED_POLICY_KWARGS if k in user)
    if clash:
        raise ValueError(
            f"{where}: policy_kwargs {clash} are set by {where} itself (the CURL encoder); remove them and "
            "use the constructor arguments (crop_size, features_dim, num_conv_layers, num_filters)."
        )
    merged: dict[str, Any] = {
        "net_arch": net_arch,
        **user,
        "features_extractor_class": PixelEncoder,
        "features_extractor_kwargs": encoder_kwargs,
        "normalize_images": False,  # PixelEncoder divides by 255 itself
    }
    if shared:
        merged["share_features_extractor"] = True
    return merged


def _check_schedule(
    where: str, batch_size: int, buffer_size: int, learning_starts: int, **intervals: int
) -> None:
    if batch_size < 2:
        raise ValueError(
            f"{where}: batch_size must be >= 2 (the other samples are CURL's negatives); got {batch_size}."
        )
    if buffer_size < batch_size:
        raise ValueError(
            f"{where}: the replay buffer ({buffer_size}) is too small for a batch of {batch_size}; "
            "raise buffer_size or lower batch_size."
        )
    if learning_starts < batch_size:
        raise ValueError(
            f"{where}: learning_starts ({learning_starts}) < batch_size ({batch_size}): the first batches would "
            "be drawn from fewer transitions than they hold, most of them repeats (a repeated observation is a "
            "false negative for CURL; SB3 samples with replacement, so some repeats remain at any size). "
            "Raise learning_starts to at least batch_size."
        )
    for name, value in intervals.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{where}: {name} must be an int >= 1; got {value!r}.")


def _check_curl_settings(where: str, curl_weight: float, augmentation: str) -> None:
    if not np.isfinite(curl_weight) or curl_weight < 0:
        raise ValueError(
            f"{where}: curl_weight must be finite and >= 0 (0 disables CURL); got {curl_weight}."
        )
    if augmentation == "none" and curl_weight > 0:
        raise ValueError(
            f"{where}: augmentation='none' makes CURL's query and key the same view, a trivial task; "
            "use 'crop' or 'shift', or curl_weight=0 for unaugmented pixel SAC / DQN."
        )


def _optimizer(policy: BasePolicy, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    return policy.optimizer_class(params, lr=lr, **policy.optimizer_kwargs)  # type: ignore[call-arg]


class CurlSAC(SAC):
    r"""Soft Actor-Critic from pixels with CURL's contrastive auxiliary loss.

    Defaults follow CURL's DMControl settings (arXiv:2004.04136, Table 4) where SB3 has the knob:
    lr 1e-3, batch 128, critic ``tau`` 0.01, ``encoder_tau`` 0.05, target and actor updates every 2
    steps, initial entropy coefficient 0.1, 1024-unit heads, 50-d features, 4 x 32 convolutions,
    84-pixel crops, entropy coefficient learned by Adam at 1e-4 with betas (0.5, 0.999), CURL's
    weight initialisation of the encoder (:class:`PixelEncoder`). Deviations: one optimizer for
    encoder + critic + ``W`` (see the module docstring); SB3's log-std bounds [-20, 2] (CURL:
    [-10, 2]) and default init of the heads (CURL: orthogonal); the actor reads the whole shared
    encoder (convolutions + linear + LayerNorm, detached), where CURL's reference shares only the
    convolutions and trains a separate linear + LayerNorm with the actor loss.

    Args:
        policy: ``"CnnPolicy"`` (or an SB3 ``SACPolicy`` subclass).
        env: an environment with ``uint8 [C, H, W]`` observations, ``H, W >= crop_size``.
        crop_size: side of the random training crops; the policy acts on center crops.
        augmentation: ``"crop"`` (CURL), ``"shift"`` (DrQ-style shift of the center crop by up to
            ``shift_pad`` pixels) or ``"none"`` (center crops, only with ``curl_weight=0``: the CURL
            paper's unaugmented pixel baseline).
        features_dim, num_conv_layers, num_filters: the :class:`PixelEncoder`.
        encoder_tau: EMA rate of the key encoder and of the target critic's encoder.
        key_update_interval: gradient steps between key-encoder EMA updates.
        actor_update_interval: gradient steps between actor / entropy updates.
        curl_weight: weight of the contrastive loss (0 disables it: pixel SAC).
        w_init: initialisation of the bilinear ``W``.
        curl_update: ``"joint"`` (default: one optimizer step on the summed loss, the encoder updated
            once per step) or ``"separate"`` (a TD step, then a CURL step through its own
            optimizer); see the module docstring.
        ent_coef_lr, ent_coef_beta: Adam learning rate and first-moment decay of the entropy
            coefficient (with ``ent_coef="auto..."``); not affected by ``learning_rate``'s schedule.
        Other arguments: as in :class:`stable_baselines3.SAC`. Memory: the replay buffer keeps
            observation and next observation as uint8, ``2 * C * H * W`` bytes per transition
            (180 KB for 3 stacked 100 x 100 frames: CURL's 100k buffer needs 18 GB; size it to the run).

    Raises:
        TypeError / ValueError: for a non-image observation space, a crop larger than the frame, a
            replay buffer smaller than a batch, ``learning_starts < batch_size`` or bad intervals.

    Example:
        >>> env = make_pixel_env("pixel-pendulum", image_size=64)
        >>> model = CurlSAC("CnnPolicy", env, crop_size=56).learn(20_000)
    """

    def __init__(
        self,
        policy: str | type[SACPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-3,
        buffer_size: int = 100_000,
        learning_starts: int = 1000,
        batch_size: int = 128,
        tau: float = 0.01,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        ent_coef: str | float = "auto_0.1",
        target_update_interval: int = 2,
        target_entropy: str | float = "auto",
        *,
        crop_size: int = 84,
        augmentation: Augmentation = "crop",
        shift_pad: int = 4,
        features_dim: int = 50,
        num_conv_layers: int = 4,
        num_filters: int = 32,
        encoder_tau: float = 0.05,
        key_update_interval: int = 2,
        actor_update_interval: int = 2,
        curl_weight: float = 1.0,
        w_init: WInit = "uniform",
        curl_update: CurlUpdate = "joint",
        ent_coef_lr: float = 1e-4,
        ent_coef_beta: float = 0.5,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        where = type(self).__name__
        if not (ent_coef_lr > 0 and 0 <= ent_coef_beta < 1):
            raise ValueError(
                f"{where}: ent_coef_lr must be > 0 and ent_coef_beta in [0, 1); "
                f"got {ent_coef_lr} and {ent_coef_beta}."
            )
        _check_schedule(
            where,
            batch_size,
            buffer_size,
            learning_starts,
            target_update_interval=target_update_interval,
            key_update_interval=key_update_interval,
            actor_update_interval=actor_update_interval,
        )
        _check_curl_settings(where, curl_weight, augmentation)
        if curl_update not in get_args(CurlUpdate):
            raise ValueError(f"{where}: curl_update must be one of {get_args(CurlUpdate)}; got {curl_update!r}.")
        encoder_kwargs = {
            "features_dim": features_dim,
            "crop_size": crop_size,
            "num_layers": num_conv_layers,
            "num_filters": num_filters,
        }
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            ent_coef=ent_coef,
            target_update_interval=target_update_interval,
            target_entropy=target_entropy,
            policy_kwargs=_pixel_policy_kwargs(
                where, policy_kwargs, encoder_kwargs, [1024, 1024], shared=True
            ),
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.crop_size, self.augmentation, self.shift_pad = crop_size, augmentation, shift_pad
        self.features_dim, self.encoder_tau, self.w_init = features_dim, encoder_tau, w_init
        self.key_update_interval, self.actor_update_interval = key_update_interval, actor_update_interval
        self.curl_weight, self.curl_update = curl_weight, curl_update
        self.ent_coef_lr, self.ent_coef_beta = ent_coef_lr, ent_coef_beta
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        # Here rather than in __init__: SB3's load builds the agent with default settings and only
        # then sets the saved ones (crop_size among them) before calling _setup_model.
        check_pixel_space(self.observation_space, self.crop_size, type(self).__name__)
        super()._setup_model()
        if self.log_ent_coef is not None:  # learned entropy coefficient: CURL's own Adam settings
            self.ent_coef_optimizer = torch.optim.Adam(
                [self.log_ent_coef], lr=self.ent_coef_lr, betas=(self.ent_coef_beta, 0.999)
            )
        encoder = self.critic.features_extractor  # shared with the actor (share_features_extractor=True)
        self.curl = CurlAuxiliary(
            encoder,
            self.features_dim,
            crop_size=self.crop_size,
            augmentation=self.augmentation,
            shift_pad=self.shift_pad,
            encoder_tau=self.encoder_tau,
            w_init=self.w_init,
        ).to(self.device)
        lr = self.lr_schedule(1)
        # The actor's optimizer leaves the encoder out: actor gradients never reach it.
        actor_heads = [p for n, p in self.actor.named_parameters() if not n.startswith("features_extractor.")]
        self.actor.optimizer = _optimizer(self.policy, actor_heads, lr)
        if self.curl_update == "separate":  # TD: encoder + Q heads; CURL: encoder + W, its own Adam state
            self.critic.optimizer = _optimizer(self.policy, list(self.critic.parameters()), lr)
            self.curl_optimizer = _optimizer(
                self.policy, [*encoder.parameters(), *self.curl.similarity.parameters()], lr
            )
        else:  # one optimizer for everything the summed TD + CURL loss trains: encoder, Q heads and W
            self.critic.optimizer = _optimizer(
                self.policy, [*self.critic.parameters(), *self.curl.similarity.parameters()], lr
            )

    @property
    def encoder(self) -> nn.Module:
        """The online :class:`PixelEncoder` (shared by actor and critic)."""
        return self.critic.features_extractor

    def _actor_from_features(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Squashed Gaussian policy on precomputed features: ``[B, F] -> (actions [B, A], log_prob [B, 1])``."""
        latent = self.actor.latent_pi(features)
        mean = self.actor.mu(latent)
        log_std = torch.clamp(self.actor.log_std(latent), LOG_STD_MIN, LOG_STD_MAX)  # type: ignore[operator]
        actions, log_prob = self.actor.action_dist.log_prob_from_params(mean, log_std)  # type: ignore[call-arg]
        return actions, log_prob.reshape(-1, 1)

    @staticmethod
    def _q_from_features(critic: ContinuousCritic, features: Tensor, actions: Tensor) -> Tensor:
        """All critics' Q-values on precomputed features: ``[B, F], [B, A] -> [B, n_critics]``."""
        x = torch.cat([features, actions], dim=1)  # (B, F + A)
        return torch.cat([q(x) for q in critic.q_networks], dim=1)

    def train(self, gradient_steps: int, batch_size: int = 128) -> None:
        self.policy.set_training_mode(True)
        separate = self.curl_update == "separate"
        self._update_learning_rate(  # not ent_coef's
            [self.actor.optimizer, self.critic.optimizer, *([self.curl_optimizer] if separate else [])]
        )
        encoder = self.critic.features_extractor
        logs: dict[str, list[float]] = defaultdict(list)

        for step in range(self._n_updates, self._n_updates + gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = data.discounts if data.discounts is not None else self.gamma
            obs = self.curl.augment(data.observations)  # (B, C, S, S) uint8
            next_obs = self.curl.augment(data.next_observations)  # (B, C, S, S)
            if self.log_ent_coef is not None:
                ent_coef = torch.exp(self.log_ent_coef.detach())
            else:
                ent_coef = self.ent_coef_tensor

            with torch.no_grad():
                next_actions, next_log_prob = self._actor_from_features(encoder(next_obs))
                next_q = (
                    self._q_from_features(
                        self.critic_target, self.critic_target.features_extractor(next_obs), next_actions
                    )
                    .min(dim=1, keepdim=True)
                    .values
                )  # (B, 1)
                target_q = data.rewards + (1 - data.dones) * discounts * (next_q - ent_coef * next_log_prob)
            features = encoder(obs)  # (B, F): TD features and CURL queries
            current_q = self._q_from_features(self.critic, features, data.actions)  # (B, n_critics)
            critic_loss = (
                0.5 * F.mse_loss(current_q, target_q.expand_as(current_q), reduction="sum") / batch_size
            )
            loss = critic_loss
            if self.curl_weight > 0 and not separate:  # one summed loss, one step
                contrastive = self.curl(features, data.observations)
                loss = loss + self.curl_weight * contrastive
                logs["curl_loss"].append(contrastive.item())
            self.critic.optimizer.zero_grad()
            loss.backward()
            self.critic.optimizer.step()
            logs["critic_loss"].append(critic_loss.item())
            if self.curl_weight > 0 and separate:  # the same view, through the encoder the TD step moved
                contrastive = self.curl(encoder(obs), data.observations)
                self.curl_optimizer.zero_grad()
                (self.curl_weight * contrastive).backward()
                self.curl_optimizer.step()
                logs["curl_loss"].append(contrastive.item())

            # Actor and entropy coefficient on detached features.
            if step % self.actor_update_interval == 0:
                actions_pi, log_prob = self._actor_from_features(features.detach())
                if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                    ent_coef_loss = -(
                        self.log_ent_coef * (log_prob + float(self.target_entropy)).detach()
                    ).mean()
                    self.ent_coef_optimizer.zero_grad()
                    ent_coef_loss.backward()
                    self.ent_coef_optimizer.step()
                    logs["ent_coef_loss"].append(ent_coef_loss.item())
                q_pi = self._q_from_features(self.critic, features.detach(), actions_pi)
                actor_loss = (ent_coef * log_prob - q_pi.min(dim=1, keepdim=True).values).mean()
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()
                logs["actor_loss"].append(actor_loss.item())
            logs["ent_coef"].append(float(ent_coef))

            if step % self.target_update_interval == 0:
                for target_head, head in zip(
                    self.critic_target.q_networks, self.critic.q_networks, strict=True
                ):
                    momentum_update(target_head, head, 1.0 - self.tau)
                momentum_update(self.critic_target.features_extractor, encoder, 1.0 - self.encoder_tau)
            if step % self.key_update_interval == 0:
                self.curl.update_key_encoder(encoder)

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name, values in logs.items():
            self.logger.record(f"train/{name}", float(np.mean(values)))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "curl"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "curl", *(["curl_optimizer"] if self.curl_update == "separate" else [])], variables


class CurlDQN(DQN):
    r"""DQN from pixels with CURL's contrastive auxiliary loss (discrete actions).

    The Q-network's encoder is a :class:`PixelEncoder`; each gradient step minimises
    ``huber_td_loss + curl_weight * curl_loss`` with one optimizer over encoder, Q head and ``W``
    (gradients clipped to ``max_grad_norm`` together). The key encoder is an EMA copy updated every
    ``key_update_interval`` gradient steps; SB3's hard target-network update is unchanged.

    Args:
        policy: ``"CnnPolicy"``.
        env: an environment with ``uint8 [C, H, W]`` observations and a ``Discrete`` action space.
        crop_size, augmentation, shift_pad, features_dim, num_conv_layers, num_filters, encoder_tau,
        key_update_interval, curl_weight, w_init: as in :class:`CurlSAC`.
        Other arguments: as in :class:`stable_baselines3.DQN` (defaults: SB3's, except the replay
        buffer (100k), ``learning_starts`` 1000, batch 128, 256-unit heads and
        ``target_update_interval`` 1000 agent steps, SB3's being 10000).

    Raises:
        TypeError / ValueError: as :class:`CurlSAC`.
    """

    def __init__(
        self,
        policy: str | type[DQNPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-4,
        buffer_size: int = 100_000,
        learning_starts: int = 1000,
        batch_size: int = 128,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 4,
        gradient_steps: int = 1,
        target_update_interval: int = 1000,
        exploration_fraction: float = 0.1,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.05,
        max_grad_norm: float = 10.0,
        *,
        crop_size: int = 84,
        augmentation: Augmentation = "crop",
        shift_pad: int = 4,
        features_dim: int = 50,
        num_conv_layers: int = 4,
        num_filters: int = 32,
        encoder_tau: float = 0.05,
        key_update_interval: int = 1,
        curl_weight: float = 1.0,
        w_init: WInit = "uniform",
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        where = type(self).__name__
        _check_schedule(
            where, batch_size, buffer_size, learning_starts, key_update_interval=key_update_interval
        )
        _check_curl_settings(where, curl_weight, augmentation)
        encoder_kwargs = {
            "features_dim": features_dim,
            "crop_size": crop_size,
            "num_layers": num_conv_layers,
            "num_filters": num_filters,
        }
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            target_update_interval=target_update_interval,
            exploration_fraction=exploration_fraction,
            exploration_initial_eps=exploration_initial_eps,
            exploration_final_eps=exploration_final_eps,
            max_grad_norm=max_grad_norm,
            policy_kwargs=_pixel_policy_kwargs(where, policy_kwargs, encoder_kwargs, [256], shared=False),
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.crop_size, self.augmentation, self.shift_pad = crop_size, augmentation, shift_pad
        self.features_dim, self.encoder_tau, self.w_init = features_dim, encoder_tau, w_init
        self.key_update_interval, self.curl_weight = key_update_interval, curl_weight
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        check_pixel_space(self.observation_space, self.crop_size, type(self).__name__)  # as in CurlSAC
        super()._setup_model()
        self.curl = CurlAuxiliary(
            self.q_net.features_extractor,
            self.features_dim,
            crop_size=self.crop_size,
            augmentation=self.augmentation,
            shift_pad=self.shift_pad,
            encoder_tau=self.encoder_tau,
            w_init=self.w_init,
        ).to(self.device)
        params = [*self.q_net.parameters(), *self.curl.similarity.parameters()]
        self.policy.optimizer = _optimizer(self.policy, params, self.lr_schedule(1))

    @property
    def encoder(self) -> nn.Module:
        """The online :class:`PixelEncoder` of the Q-network."""
        return self.q_net.features_extractor

    def train(self, gradient_steps: int, batch_size: int = 128) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        encoder = self.q_net.features_extractor
        params = [p for group in self.policy.optimizer.param_groups for p in group["params"]]
        logs: dict[str, list[float]] = defaultdict(list)

        for step in range(self._n_updates, self._n_updates + gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = data.discounts if data.discounts is not None else self.gamma
            obs = self.curl.augment(data.observations)  # (B, C, S, S) uint8
            with torch.no_grad():
                next_q = (
                    self.q_net_target(self.curl.augment(data.next_observations)).max(dim=1).values
                )  # (B,)
                target_q = data.rewards + (1 - data.dones) * discounts * next_q.reshape(-1, 1)
            features = encoder(obs)  # (B, F): TD features and CURL queries
            current_q = self.q_net.q_net(features).gather(1, data.actions.long())  # (B, 1)
            td_loss = F.smooth_l1_loss(current_q, target_q)
            loss = td_loss
            if self.curl_weight > 0:
                contrastive = self.curl(features, data.observations)
                loss = loss + self.curl_weight * contrastive
                logs["curl_loss"].append(contrastive.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            self.policy.optimizer.step()
            logs["loss"].append(td_loss.item())
            if step % self.key_update_interval == 0:
                self.curl.update_key_encoder(encoder)

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name, values in logs.items():
            self.logger.record(f"train/{name}", float(np.mean(values)))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "curl"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "curl"], variables
