"""``backdoor-scan`` on models trained here: a BadNets model is flagged with its target, a clean one is not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trustmap.probes import AuditData, make_probe
from trustmap.probes.backdoor.neural_cleanse import BackdoorScan, backdoor_score, known_trigger
from trustmap.probes.base import budget_probes
from trustmap.results import ProbeResult


@pytest.fixture(scope="module")
def scans(fashion, fashion_eval, small_cnn, badnets_cnn):
    data = AuditData(fashion, fashion_eval)
    probe = make_probe("backdoor-scan", budget="standard")  # the default audit budget (quick's 40 steps miss it)
    return {"badnets": probe.run(badnets_cnn, data, seed=0), "clean": probe.run(small_cnn, data, seed=0)}


def test_badnets_model_is_flagged_with_its_target(scans):
    r = scans["badnets"]
    m = r.metrics
    assert r.status == "ok" and m["flagged"] == 1.0, m
    assert m["suspected_target"] == 3 and m["nc_flagged"] == 1.0 and m["strip_flagged"] == 1.0
    assert m["anomaly_index"] > 2 and m["strip_ratio"] < 0.5
    assert m["inverted_asr"] > 0.8  # the inverted trigger works on held-out images
    assert m["known_trigger_asr"] > 0.8 and m["known_target"] == 3  # the real one, from the model's metadata
    assert "class Dress" in (r.reason or "")
    assert backdoor_score(m) is not None and backdoor_score(m) <= 0.3


def test_clean_model_is_not_flagged(scans):
    m = scans["clean"].metrics
    assert m["flagged"] == 0.0 and m["nc_flagged"] == 0.0, m
    assert m["anomaly_index"] < 2 and "known_trigger_asr" not in m
    assert backdoor_score(m) >= 0.6  # no scorecard weakness
    assert scans["clean"].reason is None


def test_inverted_trigger_is_an_image_in_the_json(scans):
    r = scans["badnets"]
    assert len(r.images) == 1
    pixels = np.array(r.images[0].pixels)
    assert pixels.shape == (28, 28) and pixels.min() >= 0 and pixels.max() <= 1
    # a BadNets trigger is small: most of its mass sits in the bottom-right quarter where the patch is
    assert pixels[14:, 14:].sum() > 0.5 * pixels.sum()
    back = ProbeResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.images[0].pixels == r.images[0].pixels
    assert {"flagged", "anomaly_index", "suspected_target", "inverted_asr"} <= set(back.metrics)


def test_declarations():
    assert "backdoor-scan" in budget_probes("standard")  # runs inside the default budget
    assert BackdoorScan.dimension == "security" and BackdoorScan.headline == "anomaly_index"
    assert BackdoorScan.directions["flagged"] == "lower" and BackdoorScan.directions["strip_ratio"] == "higher"
    rule = BackdoorScan.rule
    assert rule is not None and rule.defence == "nc-unlearn"
    assert "--method nc-unlearn --model m.pt2" in rule.filled_command(model="m.pt2")
    # both signals count: either one alone lowers the score, both together lower it more
    calm = {"anomaly_index": 1.0, "strip_ratio": 0.9, "flagged": 0.0}
    assert backdoor_score(calm) == 1.0
    nc_only, strip_only = {**calm, "anomaly_index": 4.0}, {**calm, "strip_ratio": 0.1}
    assert backdoor_score(nc_only) == backdoor_score(strip_only) == 0.5
    assert backdoor_score({"anomaly_index": 4.0, "strip_ratio": 0.1, "flagged": 1.0}) == 0.0
    assert backdoor_score({"anomaly_index": 1.0}) is None


def test_known_trigger_only_for_models_that_record_one(small_cnn, badnets_cnn):
    assert known_trigger(small_cnn) is None
    trig, target = known_trigger(badnets_cnn)
    assert target == 3 and trig.kind == "patch" and trig.position == "bottom-right"


def test_skips_black_box_and_small_data(fashion, fashion_eval, small_cnn):
    from trustmap.data.dataset import Split

    probe = make_probe("backdoor-scan", budget="quick")
    tiny = Split(fashion_eval.x[:10], fashion_eval.y[:10])
    r = probe.run(small_cnn, AuditData(fashion, tiny), seed=0)
    assert r.status == "skipped" and "at least 20" in r.reason
