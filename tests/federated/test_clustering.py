import numpy as np
import pytest
import torch

from trustmap.federated.distfl import cluster_distance, deep_inversion, kl_distance
from trustmap.federated.pfa import group_by_sparsity, loo_r2, purity
from trustmap.federated.sim import fl_model
from trustmap.federated.split.spadv import spadv_attack, shadow_train, split_cnn_s
from trustmap.utils.seed import torch_generator


def test_cluster_distance_recovers_blocks():
    truth = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    d = np.where(truth[:, None] == truth[None, :], 0.1, 1.0)
    np.fill_diagonal(d, 0)
    d = d + np.random.default_rng(0).uniform(0, 0.05, d.shape)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    labels = cluster_distance(d, n_clusters=3)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels) == 1.0


def test_kl_distance_zero_for_same_model_positive_for_different():
    a, b = fl_model("mlp", input_shape=(1, 4, 4), seed=0), fl_model("mlp", input_shape=(1, 4, 4), seed=1)
    probes = torch.rand(16, 1, 4, 4)
    d = kl_distance([a, a, b], probes)
    assert d[0, 1] == pytest.approx(0.0, abs=1e-7) and d[0, 2] > 0 and np.allclose(d, d.T)


def test_deep_inversion_matches_bn_statistics():
    model = fl_model("cnn-s-bn", input_shape=(1, 8, 8), seed=0)
    bn = model[1]
    bn.running_mean.fill_(0.3)
    bn.running_var.fill_(0.05)
    model.eval()
    probes = deep_inversion(model, input_shape=(1, 8, 8), n=16, steps=60, lr=0.05, generator=torch_generator(0))
    assert probes.shape == (16, 1, 8, 8) and probes.min() >= 0 and probes.max() <= 1
    with torch.no_grad():
        h = model[0](probes)
        before = model[0](torch.rand(16, 1, 8, 8, generator=torch_generator(0)))
    err = lambda t: float((t.mean((0, 2, 3)) - 0.3).abs().mean())  # noqa: E731
    assert err(h) < err(before)
    with pytest.raises(ValueError, match="BatchNorm"):
        deep_inversion(fl_model("cnn-s", input_shape=(1, 8, 8)), input_shape=(1, 8, 8), n=2, steps=1)


def test_sparsity_grouping_and_purity():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 4)
    centers = rng.uniform(0, 1, (3, 16))
    vectors = centers[truth] + rng.normal(0, 0.02, (12, 16))
    labels = group_by_sparsity(vectors, n_groups=3)
    assert purity(labels, truth) == 1.0
    assert purity(np.zeros(12, int), truth) == pytest.approx(4 / 12)


def test_loo_r2_separates_signal_from_noise():
    rng = np.random.default_rng(0)
    targets = rng.dirichlet(np.ones(5), size=40)
    informative = targets @ rng.normal(size=(5, 8)) + rng.normal(0, 0.01, (40, 8))
    assert loo_r2(informative, targets) > 0.8
    assert loo_r2(rng.normal(size=(40, 8)), targets) < 0.2


def test_split_composes_and_spadv_stays_in_ball():
    model = fl_model("cnn-s", input_shape=(1, 8, 8), seed=0).eval()
    split = split_cnn_s(model)
    x = torch.rand(6, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(split.full()(x), model(x))
    shadow = shadow_train(split.mid, x, k=3, alternations=1, steps=2, seed=0)
    for objective in ("feature", "tail"):
        xa = spadv_attack(
            split.mid, shadow, x, eps=0.1, objective=objective, z_steps=2, steps=3, generator=torch_generator(0)
        )
        assert (xa - x).abs().max() <= 0.1 + 1e-6 and xa.min() >= 0 and xa.max() <= 1
    with pytest.raises(ValueError, match="objective"):
        spadv_attack(split.mid, shadow, x, eps=0.1, objective="labels")


def test_feature_objective_moves_server_features_more_than_noise():
    from trustmap.federated.split.spadv import uniform_noise

    model = fl_model("cnn-s", input_shape=(1, 8, 8), seed=0).eval()
    split = split_cnn_s(model)
    x = torch.rand(16, 1, 8, 8, generator=torch_generator(1))
    shadow = shadow_train(split.mid, x, k=3, alternations=1, steps=2, seed=0)
    feats = lambda t: split.mid(shadow.head(t))  # noqa: E731
    adv = spadv_attack(split.mid, shadow, x, eps=0.1, steps=10, generator=torch_generator(0))
    with torch.no_grad():
        z = feats(x)
        shift_adv = (feats(adv) - z).norm()
        shift_noise = (feats(uniform_noise(x, eps=0.1, generator=torch_generator(0))) - z).norm()
    assert shift_adv > 2 * shift_noise


def test_shadow_head_aligns_to_observed_smashed_statistics():
    from trustmap.federated.split.spadv import smashed_statistics

    model = fl_model("cnn-s", input_shape=(1, 8, 8), seed=0).eval()
    split = split_cnn_s(model)
    x = torch.rand(32, 1, 8, 8, generator=torch_generator(2))
    observed = smashed_statistics(split.head, x)
    assert observed[0].shape == observed[1].shape == (16,)

    def gap(shadow):
        got = smashed_statistics(shadow.head, x)
        return float((got[0] - observed[0]).abs().mean() + (got[1] - observed[1]).abs().mean())

    free = shadow_train(split.mid, x, k=3, alternations=1, steps=60, lr=1e-2, seed=0)
    tied = shadow_train(split.mid, x, k=3, alternations=1, steps=60, lr=1e-2, smashed=observed, align=10.0, seed=0)
    assert gap(tied) < 0.5 * gap(free)


def test_update_cosine_distance_groups_update_directions():
    from trustmap.federated.cfl import cosine_distance

    rng = np.random.default_rng(0)
    directions = rng.normal(size=(3, 50))
    truth = np.array([0, 0, 1, 1, 2, 2])
    updates = directions[truth] * rng.uniform(0.5, 2.0, size=(6, 1)) + 0.05 * rng.normal(size=(6, 50))
    d = cosine_distance(updates)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0) and d.max() <= 2
    same, other = d[truth[:, None] == truth[None, :]], d[truth[:, None] != truth[None, :]]
    assert same.max() < other.min()  # scale does not matter, direction does
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, cluster_distance(d, n_clusters=3)) == 1.0
