"""Meta Stackelberg defence: a meta-learned policy from round statistics to the robust aggregator's (α, β).

Paper: Li, Pan, Zhu et al., "Meta Stackelberg Game: Robust Federated Learning against Adaptive and Mixed
Poisoning Attacks" (arXiv 2410.17431). The defender (leader) commits each round to a defence, the attacker
of unknown type (follower) observes it and responds. Pre-training simulates the attack types and learns a
meta-policy by first-order meta-RL (Reptile over sampled types); online, the policy adapts from a few
observed rounds. Here, at CPU scale (the paper uses TD3 policies and adds a post-training defence):

- :class:`DefencePolicy`: a Gaussian policy, an MLP 8–32–2 from the state (``round_statistics`` of the
  last round's updates plus the last validation accuracy) to a raw action ``u``; :func:`to_action` maps it
  to ``α = 0.5 + 2.5·sigmoid(u₀)`` (× median norm, so α ∈ [0.5, 3]) and ``β = 0.4·sigmoid(u₁)``.
- :func:`meta_train`: Reptile; per meta-iteration and per attack type, a copy of the meta-policy takes one
  REINFORCE step after each of ``episodes`` episodes; the meta-policy moves toward the mean adapted copy.
  Reward per round: Δ server validation accuracy − simulated backdoor ASR (the defender's own simulation).
- :func:`adapt_and_run`: evaluation: ``adapt`` rounds sampled from the policy, one REINFORCE step on the
  observed Δ validation accuracy (the true ASR is unobservable), then the adapted policy's mean action.

Shapes: state ``(8,)``, raw action ``(2,)``; per-episode returns ``(T,)``.

>>> policy = meta_train(sb, attacks=("ipm", "lmp", "backdoor"), starts=[theta0], seed=0, config=MetaConfig())
>>> ep = adapt_and_run(policy, sb, sb.init(0), attack="adaptive", rounds=30, seed=0, config=MetaConfig())
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from trustmap.federated.poison_sandbox import STATE_DIM, Episode, Sandbox, run_episode
from trustmap.utils.seed import derive_seed, seeded_global_rng, torch_generator


@dataclass(frozen=True)
class MetaConfig:
    meta_iterations: int = 20
    episodes: int = 4  # inner REINFORCE steps per attack type and meta-iteration
    rounds: int = 15  # per pre-training episode
    adapt: int = 5  # online adaptation rounds at evaluation
    inner_lr: float = 0.05
    outer_lr: float = 0.5  # Reptile step toward the mean adapted policy
    std: float = 0.5  # of the Gaussian policy, in raw-action space
    hidden: int = 32


class DefencePolicy(nn.Module):
    def __init__(self, *, hidden: int = 32, std: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        with seeded_global_rng(seed):
            self.net = nn.Sequential(nn.Linear(STATE_DIM, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        self.std = std

    def forward(self, state: torch.Tensor) -> torch.Tensor:  # the mean raw action
        return self.net(state)

    def log_prob(self, states: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        return torch.distributions.Normal(self(states), self.std).log_prob(raw).sum(-1)


def to_action(raw: torch.Tensor) -> tuple[float, float]:
    """Raw action ``(2,)`` → (α as a multiple of the median norm in [0.5, 3], β in [0, 0.4])."""
    s = torch.sigmoid(raw)
    return 0.5 + 2.5 * float(s[0]), 0.4 * float(s[1])


class _Actor:
    """The defence callback for :func:`run_episode`: samples (or takes the mean of) the policy's action."""

    def __init__(self, policy: DefencePolicy, generator: torch.Generator, *, sample_until: int) -> None:
        self.policy, self.generator, self.sample_until = policy, generator, sample_until
        self.raw: list[torch.Tensor] = []

    def __call__(self, t: int, state: torch.Tensor) -> tuple[float, float]:
        with torch.no_grad():
            mean = self.policy(state)
        noise = torch.randn(2, generator=self.generator) * self.policy.std
        raw = mean + noise if t < self.sample_until else mean
        self.raw.append(raw)
        return to_action(raw)


def episode_rewards(ep: Episode, *, with_asr: bool) -> torch.Tensor:
    """Per-round reward ``(T,)``: Δ validation accuracy, minus the simulated backdoor ASR when ``with_asr``."""
    acc = torch.tensor(ep.val_accuracy)
    r = acc[1:] - acc[:-1]
    return r - torch.tensor(ep.val_asr[1:]) if with_asr else r


def reinforce_step(
    policy: DefencePolicy, states: torch.Tensor, raw: torch.Tensor, advantages: torch.Tensor, *, lr: float
) -> None:
    """One plain gradient-ascent step on ``mean(log π(raw | state) × advantage)``, advantages scaled to mean
    magnitude 1 (so ``lr`` sets the step whatever the reward scale)."""
    adv = advantages / (advantages.abs().mean() + 1e-8)
    policy.zero_grad()
    (-(policy.log_prob(states, raw) * adv).mean()).backward()
    with torch.no_grad():
        for p in policy.parameters():
            p -= lr * p.grad


def returns_to_go(rewards: torch.Tensor) -> torch.Tensor:
    return torch.flip(torch.cumsum(torch.flip(rewards, [0]), 0), [0])


def meta_train(
    sb: Sandbox,
    *,
    attacks: Sequence[str],
    starts: Sequence[torch.Tensor],
    seed: int,
    config: MetaConfig,
    tick: Callable[[], None] | None = None,
) -> DefencePolicy:
    """Reptile over ``attacks`` with REINFORCE inner steps; each episode starts from a random model in ``starts``."""
    meta = DefencePolicy(hidden=config.hidden, std=config.std, seed=derive_seed(seed, 11))
    baseline: dict[str, torch.Tensor] = {}  # per type, an exponential average of the returns-to-go
    pick = torch_generator(derive_seed(seed, 12))
    for it in range(config.meta_iterations):
        adapted = []
        for a_idx, attack in enumerate(attacks):
            policy = copy.deepcopy(meta)
            for e in range(config.episodes):
                key = derive_seed(seed, 13, it, a_idx, e)
                actor = _Actor(policy, torch_generator(key), sample_until=config.rounds)
                start = starts[int(torch.randint(len(starts), (1,), generator=pick))]
                ep = run_episode(sb, start, attack=attack, rounds=config.rounds, defence=actor, seed=key)
                ret = returns_to_go(episode_rewards(ep, with_asr=True))
                b = baseline.get(attack, ret)
                reinforce_step(policy, torch.stack(ep.states), torch.stack(actor.raw), ret - b, lr=config.inner_lr)
                baseline[attack] = 0.8 * b + 0.2 * ret
                if tick is not None:
                    tick()
            adapted.append([p.detach().clone() for p in policy.parameters()])
        with torch.no_grad():
            for i, p in enumerate(meta.parameters()):
                p += config.outer_lr * (torch.stack([a[i] for a in adapted]).mean(0) - p)
    return meta


def adapt_and_run(
    policy: DefencePolicy, sb: Sandbox, theta: torch.Tensor, *, attack: str, rounds: int, seed: int, config: MetaConfig
) -> Episode:
    """An evaluation episode: ``config.adapt`` sampled rounds, one REINFORCE step on their observed Δ validation
    accuracy, then the adapted policy's mean action for the remaining rounds."""
    policy = copy.deepcopy(policy)
    actor = _Actor(policy, torch_generator(derive_seed(seed, 14)), sample_until=config.adapt)

    def on_round(t: int, ep: Episode) -> None:
        if t + 1 == config.adapt:
            ret = returns_to_go(episode_rewards(ep, with_asr=False))
            reinforce_step(policy, torch.stack(ep.states), torch.stack(actor.raw), ret - ret.mean(), lr=config.inner_lr)

    return run_episode(sb, theta, attack=attack, rounds=rounds, defence=actor, seed=seed, on_round=on_round)
