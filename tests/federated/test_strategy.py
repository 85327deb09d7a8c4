import numpy as np
import pytest

from trustmap.errors import TrustmapError
from trustmap.federated.client import ClientUpdate
from trustmap.federated.strategy import FedProx, Strategy, make_strategy, weighted_average


def _u(cid, vals, n):
    return ClientUpdate(cid, [np.array(vals[0], np.float32), np.array(vals[1], np.float32)], n)


def test_fedavg_matches_hand_computation():
    ups = [_u(0, ([1.0, 2.0], [[0.0]]), 10), _u(1, ([3.0, 6.0], [[4.0]]), 30)]
    out = weighted_average(ups)
    # (10*[1,2] + 30*[3,6]) / 40 = [2.5, 5.0];  (10*0 + 30*4)/40 = 3.0
    np.testing.assert_allclose(out[0], [2.5, 5.0])
    np.testing.assert_allclose(out[1], [[3.0]])
    assert out[0].dtype == np.float32


def test_aggregate_is_per_cluster_and_leaves_unsampled_clusters_alone():
    s = Strategy()
    s.initialize([np.zeros(2, np.float32), np.zeros((1, 1), np.float32)], num_clients=4)
    s.set_clusters(np.array([0, 0, 1, 1]))
    s.aggregate(1, [_u(0, ([2.0, 2.0], [[2.0]]), 1), _u(1, ([4.0, 4.0], [[4.0]]), 3)])
    np.testing.assert_allclose(s.model_for(1)[0], [3.5, 3.5])
    np.testing.assert_allclose(s.model_for(2)[0], [0.0, 0.0])  # cluster 1 got no update


def test_aggregate_rejects_bad_updates():
    s = Strategy()
    s.initialize([np.zeros(2, np.float32), np.zeros((1, 1), np.float32)], num_clients=2)
    with pytest.raises(ValueError, match="shapes"):
        s.aggregate(1, [ClientUpdate(0, [np.zeros(3, np.float32), np.zeros((1, 1), np.float32)], 1)])
    with pytest.raises(ValueError, match="NaN"):
        s.aggregate(1, [_u(0, ([np.nan, 0.0], [[0.0]]), 1)])
    with pytest.raises(ValueError, match="positive"):
        s.aggregate(1, [_u(0, ([0.0, 0.0], [[0.0]]), 0)])
    with pytest.raises(TrustmapError):
        s.aggregate(1, [])


def test_sampling_is_seeded_and_without_replacement():
    s = Strategy()
    s.initialize([np.zeros(1)], num_clients=20)
    a = s.sample(3, per_round=10, seed=0)
    assert a == s.sample(3, per_round=10, seed=0) and len(set(a)) == 10
    assert a != s.sample(4, per_round=10, seed=0)


def test_fedprox_sets_mu_and_unknown_strategy_is_user_error():
    assert FedProx(proximal_mu=0.01).client_config.proximal_mu == 0.01
    assert make_strategy("fedavg").client_config.proximal_mu == 0.0
    with pytest.raises(TrustmapError, match="unknown strategy"):
        make_strategy("fedsgd-nope")
