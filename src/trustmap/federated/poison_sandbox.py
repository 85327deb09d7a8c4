"""A fast poisoned-FL sandbox: K clients train one small MLP at once (batched), attackers replace updates,
the server aggregates robustly with the defence ``(alpha, beta)`` it picks each round.

Used by the Meta Stackelberg repro (arXiv 2410.17431). Clients' data comes from the shared FL sandbox
(:func:`~trustmap.federated.federation.build_federation`, IID Fashion-MNIST); the model is an MLP
784–32–10 whose parameters are one flat vector, so all K clients take their SGD steps together in a
single batched matmul (plain SGD, lr 0.05, batch 32, one local epoch, as in the sandbox's defaults).
Malicious clients are the first ``malicious`` ids; they keep clean data unless the attack is the backdoor.

Shapes: ``theta`` ``(P,)`` with P = 784·32 + 32 + 32·10 + 10 = 25,450; client data ``x`` ``(K, n, 784)``,
``y`` ``(K, n)``; updates ``(K, P)``.

>>> sb = build_sandbox(seed=0, clients=10, per_client=500)
>>> ep = run_episode(sb, sb.init(0), attack="ipm", rounds=30, defence=lambda t, s: (1.0, 0.2), seed=0)
>>> ep.test_accuracy, ep.test_asr
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from trustmap.federated.federation import FederationSpec, build_federation
from trustmap.federated.poisoning import (
    TARGET_CLASS,
    adaptive_random_direction,
    add_trigger,
    backdoor_update,
    ipm,
    lmp_lite,
    poison_split,
)
from trustmap.federated.robust import robust_aggregate, round_statistics
from trustmap.utils.seed import derive_seed, torch_generator

ATTACKS = ("none", "ipm", "lmp", "backdoor", "adaptive")
IN, HID, OUT = 784, 32, 10
SIZES = (IN * HID, HID, HID * OUT, OUT)
NUM_PARAMS = sum(SIZES)
STATE_DIM = 8  # round_statistics (7) + last validation accuracy
Defence = Callable[[int, torch.Tensor], tuple[float | None, float]]  # (round, state) -> (alpha, beta)


def _unpack(theta: torch.Tensor) -> list[torch.Tensor]:
    lead = theta.shape[:-1]
    w1, b1, w2, b2 = torch.split(theta, SIZES, dim=-1)
    return [
        w1.reshape(*lead, IN, HID),
        b1.reshape(*lead, 1, HID) if lead else b1,
        w2.reshape(*lead, HID, OUT),
        b2.reshape(*lead, 1, OUT) if lead else b2,
    ]


def forward(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Logits: ``theta (P,)`` with ``x (N, 784)`` → ``(N, 10)``; ``theta (K, P)`` with ``x (K, B, 784)`` → ``(K, B, 10)``."""
    w1, b1, w2, b2 = _unpack(theta)
    return torch.relu(x @ w1 + b1) @ w2 + b2


@torch.no_grad()
def accuracy(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((forward(theta, x).argmax(1) == y).float().mean())


@torch.no_grad()
def attack_success(theta: torch.Tensor, x_triggered: torch.Tensor) -> float:
    """Backdoor ASR: the fraction of triggered non-target images classified as the target class."""
    return float((forward(theta, x_triggered).argmax(1) == TARGET_CLASS).float().mean())


@dataclass
class Sandbox:
    x: torch.Tensor  # (K, n, 784) clean client data
    y: torch.Tensor  # (K, n)
    x_poison: torch.Tensor  # the same, malicious clients' rows triggered/relabelled (backdoor attack)
    y_poison: torch.Tensor
    malicious: tuple[int, ...]
    val: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # server's clean validation x, y, triggered x
    test: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    lr: float = 0.05
    batch_size: int = 32

    @property
    def honest(self) -> list[int]:
        return [k for k in range(self.x.shape[0]) if k not in self.malicious]

    def init(self, seed: int) -> torch.Tensor:
        """PyTorch's ``nn.Linear`` initialisation (uniform ±1/sqrt(fan_in)) from ``seed``, flat ``(P,)``."""
        g = torch_generator(seed)
        parts = [(torch.rand(n, generator=g) * 2 - 1) / np.sqrt(fan) for n, fan in zip(SIZES, (IN, IN, HID, HID))]
        return torch.cat(parts)


def build_sandbox(
    *,
    seed: int,
    clients: int = 10,
    per_client: int = 500,
    malicious: int = 2,
    val: int = 200,
    test: int = 2000,
    poison_fraction: float = 0.5,
) -> Sandbox:
    """IID Fashion-MNIST clients from the FL sandbox; server validation and test sets from the test split."""
    fed = build_federation(
        FederationSpec(num_clients=clients, partition="iid", train_per_client=per_client, test_per_client=0, seed=seed)
    )
    x = torch.stack([torch.from_numpy(c.train.x.reshape(len(c.train.y), -1)) for c in fed.clients])
    y = torch.stack([torch.from_numpy(c.train.y) for c in fed.clients]).long()
    xp, yp = x.clone(), y.clone()
    for m in range(malicious):
        xp[m], yp[m] = poison_split(x[m], y[m], poison_fraction)
    order = np.random.default_rng(derive_seed(seed, 7)).permutation(len(fed.test.y))
    tx, ty = torch.from_numpy(fed.test.x.reshape(len(fed.test.y), -1)), torch.from_numpy(fed.test.y).long()

    def split(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        xs, ys = tx[idx], ty[idx]
        return xs, ys, add_trigger(xs[ys != TARGET_CLASS])

    return Sandbox(x, y, xp, yp, tuple(range(malicious)), split(order[:val]), split(order[val : val + test]))


def local_updates(
    sb: Sandbox, theta: torch.Tensor, *, poisoned: bool, generator: torch.Generator, clients: list[int] | None = None
) -> torch.Tensor:
    """One local epoch of SGD from ``theta`` on ``clients`` (default all); their updates ``(len(clients), P)``.
    The batch order is drawn for every client, so the random stream does not depend on ``clients``."""
    x, y = (sb.x_poison, sb.y_poison) if poisoned else (sb.x, sb.y)
    k, n = y.shape
    perm = torch.argsort(torch.rand(k, n, generator=generator), dim=1)
    if clients is not None:
        x, y, perm, k = x[clients], y[clients], perm[clients], len(clients)
    rows = torch.arange(k)[:, None]
    th = theta.expand(k, -1).clone()
    for start in range(0, n, sb.batch_size):
        idx = perm[:, start : start + sb.batch_size]
        th.requires_grad_(True)
        logits = forward(th, x[rows, idx])
        loss = F.cross_entropy(logits.reshape(-1, OUT), y[rows, idx].reshape(-1), reduction="sum") / idx.shape[1]
        (grad,) = torch.autograd.grad(loss, th)
        th = (th - sb.lr * grad).detach()
    return th - theta


def attack_round(
    sb: Sandbox, theta: torch.Tensor, attack: str, defence: tuple[float | None, float], *, generator: torch.Generator
) -> tuple[torch.Tensor, dict]:
    """The updates the server receives this round ``(K, P)`` (malicious rows replaced) and attack info."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; choose from {', '.join(ATTACKS)}")
    mal, honest = list(sb.malicious), sb.honest
    trains = attack in ("none", "backdoor")  # the other attacks never use their own local training
    if trains:
        updates = local_updates(sb, theta, poisoned=attack == "backdoor", generator=generator)
    else:
        updates = torch.zeros(sb.y.shape[0], theta.shape[0])
        updates[honest] = local_updates(sb, theta, poisoned=False, generator=generator, clients=honest)
    benign = updates[honest]
    info: dict = {}
    if attack == "ipm":
        updates[mal] = ipm(benign)
    elif attack == "lmp":
        updates[mal] = lmp_lite(benign, generator=generator)
    elif attack == "backdoor":
        for m in mal:
            updates[m] = backdoor_update(updates[m], benign)
    elif attack == "adaptive":
        ax, ay = sb.x[mal[0]], sb.y[mal[0]]
        alpha, beta = defence

        def loss(candidate: torch.Tensor) -> float:
            trial = updates.clone()
            trial[mal] = candidate
            with torch.no_grad():
                return float(F.cross_entropy(forward(theta + robust_aggregate(trial, alpha=alpha, beta=beta), ax), ay))

        updates[mal], info["scale"] = adaptive_random_direction(benign, loss=loss, generator=generator)
    return updates, info


@dataclass
class Episode:
    states: list[torch.Tensor] = field(default_factory=list)  # the state each action was chosen from
    actions: list[tuple[float | None, float]] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)  # after each round; index 0 = before round 1
    val_asr: list[float] = field(default_factory=list)
    test_accuracy: float = float("nan")
    test_asr: float = float("nan")
    theta: torch.Tensor | None = None


def run_episode(
    sb: Sandbox,
    theta: torch.Tensor,
    *,
    attack: str,
    rounds: int,
    defence: Defence,
    seed: int,
    on_round: Callable[[int, Episode], None] | None = None,
) -> Episode:
    """``rounds`` rounds under ``attack``; each round the defence maps the state (last round's statistics and
    validation accuracy) to ``(alpha, beta)``, the attacker observes it, the server aggregates."""
    g = torch_generator(seed)
    ep = Episode()
    vx, vy, vt = sb.val
    ep.val_accuracy.append(accuracy(theta, vx, vy))
    ep.val_asr.append(attack_success(theta, vt))
    stats = torch.zeros(STATE_DIM - 1)
    for t in range(rounds):
        state = torch.cat([stats, torch.tensor([ep.val_accuracy[-1]])])
        action = defence(t, state)
        ep.states.append(state)
        ep.actions.append(action)
        updates, _ = attack_round(sb, theta, attack, action, generator=g)
        stats = round_statistics(updates)
        theta = theta + robust_aggregate(updates, alpha=action[0], beta=action[1])
        ep.val_accuracy.append(accuracy(theta, vx, vy))
        ep.val_asr.append(attack_success(theta, vt))
        if on_round is not None:
            on_round(t, ep)
    ep.test_accuracy = accuracy(theta, sb.test[0], sb.test[1])
    ep.test_asr = attack_success(theta, sb.test[2])
    ep.theta = theta
    return ep
