"""``--quick`` smoke runs of the defence repros (bat, ini, sfr-on): each runs and produces its table and
checks; a quick run never claims the result. The claims themselves are checked only at default size."""

import json
import math

import pytest

from trustmap.repro import repro_ids, repro_info

DEFENCE_REPROS = ("bat", "ini", "sfr-on")


def test_defence_repros_are_registered():
    assert set(DEFENCE_REPROS) <= set(repro_ids())


@pytest.mark.slow
@pytest.mark.parametrize("method", DEFENCE_REPROS)
def test_quick_repro_runs_and_makes_its_table(method):
    result = repro_info(method).run(size="quick", seed=0, progress=False)
    assert result.method == method and result.size == "quick"
    assert len(result.rows) >= 3 and all("method" in r for r in result.rows) and result.claim.endswith(".")
    assert result.checks and result.runs
    for check in result.checks:
        assert isinstance(check.value, float) and not math.isnan(check.value)
    json.dumps(result.to_dict(), allow_nan=False)


def _fake(checks, size="default"):
    from trustmap.repro import base

    def fake(*, size=size, seed, progress):
        return base.ReproResult(
            method="toy-repro", claim="c.", rows=[{"method": "toy", "x": 1.0}], checks=checks, size=size, seeds=[seed]
        )

    return fake


def test_a_fake_run_that_passes_reports_held_in_the_cli_json_and_the_store(capsys):
    """A default-size run whose sanity and claim checks all pass says HELD, prints ``held: true`` with
    ``--json`` and records the status; the same run at the quick size is a smoke run."""
    from tests.cli.helpers import run_cli
    from trustmap.repro import base
    from trustmap.store import ResultsStore

    checks = [
        base.Check("sanity: beats the majority class", 0.2, "> 0", passed=True, kind="sanity"),
        base.Check.over_seeds("gain over the baseline", [3.1, 3.4, 3.3], threshold=1.0),
    ]
    with base.REPROS.scoped():
        base.register_repro("toy-repro", title="Toy", arxiv="2209.07534")(_fake(checks))
        res = run_cli(capsys, "repro", "toy-repro", "--json")
        quick = run_cli(capsys, "repro", "toy-repro", "--quick", "--json")
        shown = run_cli(capsys, "repro", "toy-repro")
    assert res.code == 0 and json.loads(res.out)["held"] is True and json.loads(res.out)["status"] == "held"
    assert json.loads(quick.out)["held"] is False and json.loads(quick.out)["status"] == "smoke run"
    assert "HELD" in shown.out and "passed" in shown.out
    statuses = [r.metrics["status"] for r in ResultsStore.open(None).runs()]
    assert sorted(statuses) == ["held", "held", "smoke run"]


@pytest.mark.parametrize(
    ("checks", "status"),
    [
        # the learned baseline never beat the majority class: whatever the claim checks say, no test
        ([("sanity", [-0.01, 0.0, -0.02], 0.0), ("claim", [3.0, 3.2, 3.1], 1.0)], "not a test"),
        # one claim check's interval straddles its threshold, none fails: inconclusive, not passed
        (
            [("sanity", [0.2, 0.3, 0.25], 0.0), ("claim", [3.0, 3.2, 3.1], 1.0), ("claim", [0.0, 2.0, 4.0], 1.0)],
            "inconclusive",
        ),
        # one claim check fails outright
        (
            [("sanity", [0.2, 0.3, 0.25], 0.0), ("claim", [3.0, 3.2, 3.1], 1.0), ("claim", [-3.0, -3.1, -3.2], 1.0)],
            "did not hold",
        ),
        # information-only checks are never judged
        (
            [("sanity", [0.2, 0.3, 0.25], 0.0), ("claim", [3.0, 3.2, 3.1], 1.0), ("info", [-9.0, -9.1, -9.2], 1.0)],
            "held",
        ),
    ],
)
def test_status_follows_the_sanity_claim_and_info_checks(checks, status):
    from trustmap.repro.base import Check, ReproResult

    made = [
        Check.over_seeds(f"{kind} {i}", values, threshold=t, kind=kind) for i, (kind, values, t) in enumerate(checks)
    ]
    result = ReproResult(method="m", claim="c.", rows=[], checks=made)
    assert result.status == status and result.held is (status == "held")
    assert ReproResult(method="m", claim="c.", rows=[], checks=made, size="quick").status == "smoke run"


def test_an_interval_check_reports_its_interval_and_verdict():
    from trustmap.repro.base import Check

    c = Check.over_seeds("drop", [-0.07, -0.05, -0.06], threshold=0.0, above=False)
    assert c.verdict == "passed" and c.passed and c.value == pytest.approx(-0.06)
    assert "<= 0" in c.target and "95% -0.060 [" in c.target
    with pytest.raises(ValueError):
        Check("x", 1.0, ">= 0", verdict="maybe")


def _bat_runs(*, bat_worst, pgd_robust, undefended_robust, seeds=(0, 1, 2)):
    """Fake per-seed rows for the bat repro's checks (fractions; small per-seed jitter)."""
    runs = []
    for i, s in enumerate(seeds):
        j = 0.002 * i
        base = {"clean": 0.80 + j, "robust": pgd_robust + j, "worst_class_robust": 0.20 + j, "best_class_robust": 0.90}
        runs += [
            {"seed": s, "method": "pgd-at", **base},
            {"seed": s, "method": "bat", **base, "worst_class_robust": bat_worst + 2 * j, "best_class_robust": 0.89},
            {"seed": s, "method": "bat (lambda_u=0)", **base},
            {"seed": s, "method": "frl-lite", **base, "best_class_robust": 0.85},
            {"seed": s, "method": "undefended", **base, "clean": 0.88, "robust": undefended_robust},
        ]
    return runs


def test_bat_checks_hold_when_bat_clearly_wins_and_sanity_passes():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.bat import bat_checks

    checks = bat_checks(_bat_runs(bat_worst=0.30, pgd_robust=0.60, undefended_robust=0.05), majority=0.1)
    kinds = {c.kind for c in checks}
    assert kinds == {"sanity", "claim", "info"}
    worst = next(c for c in checks if c.name.startswith("worst-class"))
    assert worst.value == pytest.approx(10.2) and worst.verdict == "passed" and "95%" in worst.target
    result = ReproResult(method="bat", claim="c.", rows=[], checks=checks)
    assert result.status == "held" and result.held


def test_bat_checks_are_not_a_test_when_pgd_at_is_no_more_robust_than_undefended():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.bat import bat_checks

    checks = bat_checks(_bat_runs(bat_worst=0.30, pgd_robust=0.05, undefended_robust=0.10), majority=0.1)
    sanity = [c for c in checks if c.kind == "sanity"]
    assert [c.verdict for c in sanity] == ["failed", "passed"]
    assert ReproResult(method="bat", claim="c.", rows=[], checks=checks).status == "not a test"


def test_bat_worst_class_gain_straddling_its_target_is_inconclusive():
    from trustmap.repro.bat import bat_checks

    runs = _bat_runs(bat_worst=0.23, pgd_robust=0.60, undefended_robust=0.05)
    for r, w in zip([r for r in runs if r["method"] == "bat"], (0.20, 0.23, 0.27)):
        r["worst_class_robust"] = w  # per-seed gains 0, 2.8, 6.6 points around the 3-point target
    worst = next(c for c in bat_checks(runs, majority=0.1) if c.name.startswith("worst-class"))
    assert worst.verdict == "inconclusive" and not worst.passed


def test_sfr_on_mia_is_nan_for_a_diverged_model_not_an_error():
    import math

    import numpy as np
    import torch

    from trustmap.data import Split
    from trustmap.repro.sfr_on import _svc_mia

    class Diverged(torch.nn.Module):
        def forward(self, x):
            return torch.full((len(x), 10), float("nan"))

    rng = np.random.default_rng(0)
    split = Split(rng.random((20, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 20))
    assert math.isnan(_svc_mia(Diverged(), remain=split, test=split, forget=split))


def _ini_runs(*, ini_thief, undefended_thief=0.60, rs_thief=0.58, top1_thief=0.55):
    """Fake per-seed rows for the ini repro's checks (fractions; small per-seed jitter)."""
    runs = []
    for i in range(3):
        j = 0.003 * i
        runs.append(
            {
                "seed": i,
                "undefended.benign": 0.85 + j,
                "ini.benign": 0.845 + j,
                "undefended.thief": undefended_thief + j,
                "ini.thief": ini_thief - j,
                "reverse-sigmoid.thief": rs_thief + j,
                "top1.thief": top1_thief + j,
                "ini.latency_ratio": 1.0 + j / 10,
                "ini.share_induction": 0.05,
            }
        )
    return runs


def test_ini_checks_hold_when_ini_beats_every_defence_by_the_margins():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.ini import ini_checks

    checks = ini_checks(_ini_runs(ini_thief=0.40), majority=0.1)
    assert {c.kind for c in checks} == {"sanity", "claim", "info"}
    drop = next(c for c in checks if c.name.startswith("thief accuracy drop"))
    assert drop.value == pytest.approx(20.6) and drop.verdict == "passed"
    assert ReproResult(method="ini", claim="c.", rows=[], checks=checks).status == "held"


def test_ini_checks_fail_when_top1_rounding_does_as_well():
    from trustmap.repro.base import ReproResult
    from trustmap.repro.ini import ini_checks

    checks = ini_checks(_ini_runs(ini_thief=0.45, top1_thief=0.46), majority=0.1)
    top1 = next(c for c in checks if c.name.startswith("thief accuracy, top-1"))
    assert top1.verdict == "failed"
    assert ReproResult(method="ini", claim="c.", rows=[], checks=checks).status == "did not hold"
    # a thief that cannot even beat the majority class against the undefended victim: not a test
    weak = ini_checks(_ini_runs(ini_thief=0.02, undefended_thief=0.05), majority=0.1)
    assert ReproResult(method="ini", claim="c.", rows=[], checks=weak).status == "not a test"


def _sfr_runs(*, retrain_mia=0.30, original_mia=0.10):
    names = ("sfr-on", "retrain", "gradient-ascent", "finetune", "salun-lite")
    runs = []
    for s in range(3):
        j = 0.002 * s
        r = {"seed": s, "original_test": 0.85 + j, "majority": 0.1, "ga_lr": 1e-4}
        for n in names:
            r[f"class.{n}.forget"] = 0.01 + j if n != "gradient-ascent" else 0.03
            r[f"class.{n}.remain_test"] = 0.88 + j if n != "gradient-ascent" else 0.70
        for n in (*names, "original"):
            r[f"random.{n}.forget"] = 0.9
            r[f"random.{n}.test"] = 0.85 + j
            r[f"random.{n}.mia_efficacy"] = {"retrain": retrain_mia, "sfr-on": retrain_mia - 0.01 - j}.get(
                n, original_mia + j
            )
        r["random.gradient-ascent.mia_efficacy"] = float("nan")  # a diverged GA model
        runs.append(r)
    return runs


def test_sfr_on_result_holds_for_a_passing_fake_and_is_not_a_test_without_a_leak():
    from trustmap.repro.sfr_on import SIZES, sfr_on_result

    result = sfr_on_result(_sfr_runs(), cfg=SIZES["default"], size="default")
    assert result.status == "held" and result.seeds == [0, 1, 2]
    assert next(r for r in result.rows if r["method"] == "sfr-on")["rand_mia_efficacy_per_seed"][0] == 0.29
    # the MIA does not see the leak (retrained and original models look alike): not a test
    no_leak = sfr_on_result(_sfr_runs(retrain_mia=0.10, original_mia=0.10), cfg=SIZES["default"], size="default")
    assert no_leak.status == "not a test"
