"""``backdoor-scan`` on models trained here: a BadNets model is flagged with its target, a clean one is not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trustmap.data import stratified_indices
from trustmap.errors import TrustmapError
from trustmap.probes import AuditData, make_probe
from trustmap.probes.backdoor.calibration import calibrate, calibrated_indices, log_offsets
from trustmap.probes.backdoor.inversion import Inversion
from trustmap.probes.backdoor.neural_cleanse import BackdoorScan, backdoor_score, known_trigger
from trustmap.probes.base import budget_probes
from trustmap.results import ProbeResult


@pytest.fixture(scope="module")
def scans(fashion, fashion_eval, small_cnn, badnets_cnn):
    # a pool of 2,000 training images the models never saw (they train on a stratified 6,000): the
    # flagged BadNets scan is calibrated against two clean reference models trained on its halves
    seen = stratified_indices(fashion.train.y, 6000, seed=0)
    rest = np.setdiff1d(np.arange(len(fashion.train)), seen)
    pool = fashion.train.subset(np.sort(np.random.default_rng(1).permutation(rest)[:2000]))
    data = AuditData(fashion, fashion_eval, pool=pool)
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
    # calibrated against clean reference models, the Dress trigger is still far smaller than theirs
    assert m["uncalibrated_flagged"] == 1.0 and m["calibrated_index"] > 2, m
    rows = r.tables["calibration"]
    assert len(rows) == 2 and all(row["mask_l1"] > m["mask_l1"] for row in rows)
    assert "2 clean cnn-s reference models" in r.options["calibration"]


def test_clean_model_is_not_flagged(scans):
    m = scans["clean"].metrics
    assert m["flagged"] == 0.0 and m["nc_flagged"] == 0.0, m
    assert m["anomaly_index"] < 2 and "known_trigger_asr" not in m
    assert backdoor_score(m) >= 0.6  # no scorecard weakness
    assert scans["clean"].reason is None
    assert "not needed" in scans["clean"].options["calibration"] and "calibration" not in scans["clean"].tables


def _inversion(norms):
    k = len(norms)
    return Inversion(
        list(range(k)), np.zeros((k, 4, 4)), np.zeros((k, 1, 4, 4)), np.asarray(norms, float), *[np.zeros(k)] * 3
    )


def test_calibration_separates_a_natural_shortcut_from_a_backdoor():
    natural = np.array([60, 55, 70, 65, 58, 62, 66, 59, 17, 64], float)  # class 8 small on every clean model
    refs = [np.array([300, 280, 320, 310, 290, 305, 315, 295, 90, 300], float), natural * 1.3]
    assert calibrated_indices(natural, refs)[8] < 1  # the references share the small class-8 trigger
    backdoor = natural.copy()
    backdoor[8] = 2.0  # a backdoor makes class 8 far smaller than on any clean model
    assert calibrated_indices(backdoor, refs)[8] > 2
    assert np.isnan(calibrated_indices(natural, [])[8])
    offsets, scale = log_offsets(natural)
    assert offsets[8] < 0 and scale > 0 and np.median(offsets) == 0

    ratios = np.full(10, 0.9)
    ratios[8] = 0.2
    reference_inversions = [_inversion(n) for n in refs]

    def run(norms):
        return calibrate(
            norms,
            ratios,
            [None, None],
            reference_arch="cnn",
            invert=lambda model, r: reference_inversions[r],
            strip=lambda model, mask, pattern, k: 0.25,
        )

    cal = run(natural)
    assert cal.index == pytest.approx(max(cal.indices), abs=1e-3) and cal.index < 2 and len(cal.indices) == 10
    assert cal.index == pytest.approx(calibrated_indices(natural, refs)[cal.k], abs=1e-3)
    bad = run(backdoor)
    assert bad.k == 8 and bad.index > 2 and bad.strip_ratio == pytest.approx(0.8)
    assert [row["mask_l1"] for row in bad.rows] == [90.0, round(17 * 1.3, 2)]
    # a backdoor toward another class hides behind the natural shortcut in the raw norms, not once calibrated
    hidden = natural.copy()
    hidden[3] = 20.0  # smaller than the median, larger than class 8's natural 17
    assert int(np.argmin(hidden)) == 8 and run(hidden).k == 3 and run(hidden).index > 2
    # a calibrated clean model scores well; its raw signals alone would have scored 0
    m = {"anomaly_index": 4.9, "strip_ratio": 0.2, "flagged": 0.0}
    assert backdoor_score(m) == 0.0
    assert backdoor_score({**m, "calibrated_index": cal.index, "calibrated_strip_ratio": 1.1}) > 0.8


def test_calibration_is_off_or_impossible_without_references(fashion, fashion_eval, badnets_cnn):
    def calibrate_with(probe, data):
        norms, ratios = np.ones(10), np.ones(10)
        return probe._calibrate(badnets_cnn, data, norms, ratios, invert=None, strip=None, seed=0, progress=False)

    small_pool = AuditData(fashion, fashion_eval, pool=fashion.train.subset(np.arange(100)))
    cal, note = calibrate_with(BackdoorScan(), small_pool)
    assert cal is None and "needs a pool of >= 1000 clean images, got 100" in note
    cal, note = calibrate_with(BackdoorScan(), AuditData(fashion, fashion_eval))
    assert cal is None and "got 0" in note
    cal, note = calibrate_with(BackdoorScan(reference_models=0), small_pool)
    assert cal is None and note.startswith("off")
    with pytest.raises(TrustmapError, match="reference_models"):
        make_probe("backdoor-scan", reference_models=-1)


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
