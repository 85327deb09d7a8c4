"""The privacy grade: every membership probe is graded on its TPR at low false-positive rates, and the
attack that finds the most members there sets the grade, whatever the other attacks' AUCs."""

from __future__ import annotations

import pytest

from trustmap.audit.scorecard import score_report
from trustmap.probes import probe_class
from trustmap.probes.membership.base import low_fpr_score
from trustmap.results import ProbeResult


def mia(probe: str, *, auc: float, tpr01: float, tpr1: float, n: float = 2000.0) -> ProbeResult:
    metrics = {"auc": auc, "tpr_at_0.1fpr": tpr01, "tpr_at_1fpr": tpr1, "advantage": 0.0, "n": n}
    return ProbeResult(probe=probe, dimension="privacy", title=probe, metrics=metrics)


def privacy(probes: list[ProbeResult]):
    grades, weaknesses = score_report(probes, model={"dataset": "fashion-mnist", "arch": "mlp", "source": "m.pt2"})
    return next(g for g in grades if g.dimension == "privacy"), weaknesses


def test_low_fpr_score_is_one_at_chance_and_falls_with_the_lift_over_chance():
    assert low_fpr_score({"tpr_at_0.1fpr": 0.001, "tpr_at_1fpr": 0.01, "n": 2000}) == 1.0
    assert low_fpr_score({"tpr_at_0.1fpr": 1.0, "tpr_at_1fpr": 1.0, "n": 2000}) == 0.0
    # 10x chance at 0.1% FPR: a third of the log scale
    assert low_fpr_score({"tpr_at_0.1fpr": 0.01, "tpr_at_1fpr": 0.01, "n": 2000}) == pytest.approx(2 / 3)
    # the worse of the two rates counts: 40% of members at 1% FPR is a leak even if 0.1% looks clean
    assert low_fpr_score({"tpr_at_0.1fpr": 0.001, "tpr_at_1fpr": 0.4, "n": 2000}) == pytest.approx(0.2, abs=0.01)
    # with 200 non-members a TPR of 1% (two members) is within chance of nothing
    assert low_fpr_score({"tpr_at_0.1fpr": 0.01, "tpr_at_1fpr": 0.01, "n": 200}) == 1.0
    assert low_fpr_score({"auc": 0.9}) is None


def test_the_strongest_attack_at_low_fpr_sets_the_privacy_grade_not_the_highest_auc():
    # the loss attack has the higher AUC, but LiRA finds 10% of the members at 0.1% FPR
    loss = mia("mia-loss", auc=0.80, tpr01=0.002, tpr1=0.02)
    lira = mia("mia-lira", auc=0.66, tpr01=0.10, tpr1=0.20)
    grade, weaknesses = privacy([loss, lira])
    assert grade.score == pytest.approx(1 / 3, abs=1e-3) and grade.grade == "F"
    assert grade.evidence[0].startswith("LiRA membership: TPR 10.00% at 0.1% FPR")
    assert [(w.probe, w.defence) for w in weaknesses] == [("mia-lira", "teeslice")]
    # on its own, the loss attack (AUC 0.80, 2x chance at 1% FPR) grades B: AUC does not grade
    alone, _ = privacy([loss])
    assert alone.grade == "B" and alone.score == pytest.approx(0.85, abs=0.01)
    # the order of the probes does not matter
    assert privacy([lira, loss])[0].score == grade.score


@pytest.mark.parametrize("pid", ["mia-loss", "mia-confidence", "mia-rmia", "mia-lira"])
def test_every_membership_probe_is_graded_at_low_fpr(pid):
    cls = probe_class(pid)
    assert cls.rule is not None and cls.rule.score is low_fpr_score
    assert cls.headline == "tpr_at_0.1fpr"
    assert {"tpr_at_0.1fpr", "tpr_at_1fpr"} <= {k for k, v in cls.directions.items() if v == "lower"}
    grade, _ = privacy([mia(pid, auc=0.95, tpr01=0.001, tpr1=0.01)])
    assert grade.grade == "A"
