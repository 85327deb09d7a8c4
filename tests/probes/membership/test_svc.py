"""SVC-MIA (MIA-Efficacy): features with known values, and an efficacy that tells seen from unseen data."""

import numpy as np
import pytest

from trustmap.probes.membership.svc import mia_features, svc_mia_efficacy


def test_features_match_hand_computation():
    p = np.array([[0.7, 0.2, 0.1]])
    f = mia_features(p, np.array([0]))
    assert f["confidence"][0] == pytest.approx(0.7)
    assert f["entropy"][0] == pytest.approx(-(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1)))
    expected = -(0.3) * np.log(0.7) - 0.2 * np.log(0.8) - 0.1 * np.log(0.9)
    assert f["m_entropy"][0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="one label per row"):
        mia_features(p, np.array([0, 1]))


def _probs(rng, n, confidence):
    y = rng.integers(0, 10, n)
    p = np.full((n, 10), 0.0)
    conf = np.clip(rng.normal(confidence, 0.05, n), 0.11, 0.999)
    p[:] = ((1 - conf) / 9)[:, None]
    p[np.arange(n), y] = conf
    return p, y


def test_efficacy_is_low_on_members_and_high_on_unseen_examples():
    rng = np.random.default_rng(0)
    members, y_m = _probs(rng, 300, 0.95)  # a leaky model: members get confident outputs
    outs, y_o = _probs(rng, 300, 0.6)
    seen, y_s = _probs(rng, 200, 0.95)
    unseen, y_u = _probs(rng, 200, 0.6)
    on_seen = svc_mia_efficacy(members, y_m, outs, y_o, seen, y_s)
    on_unseen = svc_mia_efficacy(members, y_m, outs, y_o, unseen, y_u)
    assert on_seen.efficacy < 0.1 and on_unseen.efficacy > 0.9
    assert set(on_seen.per_feature) == {"confidence", "entropy", "m_entropy"}
    with pytest.raises(ValueError, match="at least two"):
        svc_mia_efficacy(members[:1], y_m[:1], outs, y_o, seen, y_s)
