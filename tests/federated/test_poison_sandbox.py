"""The batched poisoned-FL sandbox and the meta-Stackelberg policy: shapes, determinism, learning signal."""

import torch

from trustmap.federated.meta_stackelberg import DefencePolicy, MetaConfig, meta_train, reinforce_step, to_action
from trustmap.federated.poison_sandbox import (
    NUM_PARAMS,
    STATE_DIM,
    attack_round,
    build_sandbox,
    forward,
    local_updates,
    run_episode,
)
from trustmap.utils.seed import torch_generator


def _sandbox():
    return build_sandbox(seed=0, clients=4, per_client=40, malicious=1, val=50, test=100)


def test_batched_forward_matches_one_model_at_a_time():
    sb = _sandbox()
    thetas = torch.stack([sb.init(1), sb.init(2)])
    x = sb.x[:2, :5]
    batched = forward(thetas, x)
    assert batched.shape == (2, 5, 10) and thetas.shape == (2, NUM_PARAMS)
    assert torch.allclose(batched[1], forward(thetas[1], x[1]), atol=1e-5)


def test_local_updates_are_deterministic_and_the_random_stream_ignores_which_clients_train():
    sb = _sandbox()
    theta = sb.init(0)
    a = local_updates(sb, theta, poisoned=False, generator=torch_generator(5))
    b = local_updates(sb, theta, poisoned=False, generator=torch_generator(5))
    some = local_updates(sb, theta, poisoned=False, generator=torch_generator(5), clients=[1, 3])
    assert torch.equal(a, b) and torch.allclose(some, a[[1, 3]], atol=1e-6)
    assert float(a.norm(dim=1).min()) > 0


def test_attack_round_replaces_only_the_malicious_rows():
    sb = _sandbox()
    updates, _ = attack_round(sb, sb.init(0), "ipm", (None, 0.0), generator=torch_generator(1))
    honest = updates[sb.honest]
    assert torch.allclose(updates[0], -2.0 * honest.mean(0), atol=1e-6)
    _, info = attack_round(sb, sb.init(0), "adaptive", (1.0, 0.0), generator=torch_generator(1))
    assert info["scale"] in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def test_episode_is_deterministic_and_learns_without_attack():
    sb = build_sandbox(seed=0, clients=4, per_client=200, malicious=1, val=100, test=300)
    runs = [
        run_episode(sb, sb.init(0), attack="none", rounds=3, defence=lambda t, s: (None, 0.0), seed=3) for _ in range(2)
    ]
    assert runs[0].test_accuracy == runs[1].test_accuracy and torch.equal(runs[0].theta, runs[1].theta)
    assert runs[0].test_accuracy > 0.3  # 3 short FedAvg rounds of an MLP on Fashion-MNIST: well above 10% chance
    assert len(runs[0].states) == 3 and runs[0].states[0].shape == (STATE_DIM,)


def test_actions_stay_in_range_and_reinforce_moves_toward_rewarded_actions():
    lo, hi = to_action(torch.tensor([-50.0, -50.0])), to_action(torch.tensor([50.0, 50.0]))
    assert lo[0] >= 0.5 and hi[0] <= 3.0 and lo[1] >= 0.0 and hi[1] <= 0.4
    policy = DefencePolicy(seed=0)
    states = torch.zeros(4, STATE_DIM)
    before = policy(states[0]).detach()
    raw = before + torch.tensor([1.0, -1.0])  # the rewarded action: higher α, lower β than the mean
    reinforce_step(policy, states, raw.expand(4, 2), torch.ones(4), lr=0.1)
    after = policy(states[0]).detach()
    assert float(after[0]) > float(before[0]) and float(after[1]) < float(before[1])


def test_meta_training_is_deterministic_per_seed():
    sb = _sandbox()
    cfg = MetaConfig(meta_iterations=1, episodes=1, rounds=1)
    p1, p2 = (meta_train(sb, attacks=("ipm", "backdoor"), starts=[sb.init(0)], seed=4, config=cfg) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(p1.parameters(), p2.parameters()))
