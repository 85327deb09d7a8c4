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
