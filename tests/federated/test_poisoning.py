"""Robust aggregation (norm bound α, trimmed mean β) and the poisoning attacks on flat client updates."""

import pytest
import torch

from trustmap.federated.poisoning import (
    TARGET_CLASS,
    adaptive_random_direction,
    add_trigger,
    backdoor_update,
    ipm,
    lmp_lite,
    poison_split,
)
from trustmap.federated.robust import clip_norms, robust_aggregate, round_statistics, trimmed_mean


def _benign(k=8, p=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, p, generator=g) * 0.1 + 1.0


def test_trimmed_mean_removes_an_outlier_update_that_plain_mean_follows():
    updates = torch.cat([_benign(9), torch.full((1, 50), 1000.0)])
    assert float(updates.mean(0).mean()) > 50  # the plain mean follows the outlier
    robust = trimmed_mean(updates, 0.1)  # drops 1 value from each end of every coordinate
    assert torch.allclose(robust, _benign(9).sort(0).values[1:].mean(0), atol=1e-5)  # the outlier and the min go
    assert torch.allclose(trimmed_mean(updates, 0.0), updates.mean(0))
    with pytest.raises(ValueError):
        trimmed_mean(updates, 0.5)


def test_norm_clipping_bounds_every_norm_and_keeps_small_updates():
    updates = torch.cat([_benign(4) * 0.01, _benign(4) * 10])
    clipped = clip_norms(updates, 2.0)
    assert float(clipped.norm(dim=1).max()) <= 2.0 + 1e-5
    assert torch.equal(clipped[:4], updates[:4])  # already inside the bound: untouched
    cos = torch.nn.functional.cosine_similarity(clipped[4:], updates[4:], dim=1)
    assert torch.allclose(cos, torch.ones(4), atol=1e-5)  # clipping rescales, never turns


def test_robust_aggregate_clips_to_alpha_times_the_median_norm():
    updates = torch.eye(4) * torch.tensor([1.0, 2.0, 3.0, 100.0])[:, None]
    plain = robust_aggregate(updates, alpha=None, beta=0.0)
    assert torch.allclose(plain, updates.mean(0))
    clipped = robust_aggregate(updates, alpha=1.0, beta=0.0)  # median norm (2 + 3) / 2: rows 3 and 4 scaled to 2.5
    assert torch.allclose(clipped, torch.tensor([1.0, 2.0, 2.5, 2.5]) / 4, atol=1e-5)


def test_round_statistics_are_scale_free():
    updates = torch.cat([_benign(8), -2 * _benign(2)])
    s = round_statistics(updates)
    assert s.shape == (7,)
    assert torch.allclose(s, round_statistics(updates * 37.0), atol=1e-4)
    assert float(s[3]) < 0  # the minimum cosine to the mean: the reversed updates


def test_ipm_points_against_the_benign_mean():
    benign = _benign()
    mal = ipm(benign, scale=2.0)
    assert torch.allclose(mal, -2.0 * benign.mean(0))
    assert float(torch.nn.functional.cosine_similarity(mal, benign.mean(0), dim=0)) < -0.99


def test_lmp_lite_sits_at_or_beyond_the_benign_extreme_opposite_the_mean():
    benign = _benign() * torch.where(torch.arange(50) % 2 == 0, 1.0, -1.0)  # mixed signs per coordinate
    mal = lmp_lite(benign, generator=torch.Generator().manual_seed(0))
    up = benign.mean(0) > 0
    assert bool((mal[up] <= benign.min(0).values[up] + 1e-6).all())
    assert bool((mal[~up] >= benign.max(0).values[~up] - 1e-6).all())
    assert torch.equal(mal, lmp_lite(benign, generator=torch.Generator().manual_seed(0)))  # seeded


def test_backdoor_update_is_boosted_then_norm_matched_to_the_largest_benign_norm():
    benign = _benign()
    poisoned = torch.randn(50, generator=torch.Generator().manual_seed(3)) * 0.01
    mal = backdoor_update(poisoned, benign)
    assert float(mal.norm()) == pytest.approx(float(benign.norm(dim=1).max()), rel=1e-5)
    assert float(torch.nn.functional.cosine_similarity(mal, poisoned, dim=0)) == pytest.approx(1.0, abs=1e-5)


def test_trigger_is_a_white_3x3_patch_and_poisoned_samples_are_relabelled():
    x = torch.zeros(4, 784)
    t = add_trigger(x).reshape(4, 28, 28)
    assert int((t == 1.0).sum()) == 4 * 9 and float(t[:, 24:27, 24:27].min()) == 1.0
    assert float(x.abs().sum()) == 0.0  # the input is not modified
    xp, yp = poison_split(x, torch.full((4,), 5), 0.5)
    assert yp.tolist() == [TARGET_CLASS, TARGET_CLASS, 5, 5] and float(xp[2:].sum()) == 0.0


def test_adaptive_attack_picks_the_scale_that_maximises_the_observed_loss():
    benign = _benign()
    base = float(benign.norm(dim=1).quantile(0.5))
    # a loss that peaks at norm 4 × the median benign norm (as a clipping defence would make it)
    mal, scale = adaptive_random_direction(
        benign, loss=lambda u: -abs(float(u.norm()) / base - 4.0), generator=torch.Generator().manual_seed(0)
    )
    assert scale == 4.0 and float(mal.norm()) == pytest.approx(4 * base, rel=1e-5)
