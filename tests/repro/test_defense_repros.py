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
    assert result.method == method and result.size == "quick" and result.held is False
    assert (
        len(result.rows) >= 3
        and all("method" in r for r in result.rows)
        and result.claim.endswith(".")
    )
    assert result.checks and result.runs
    for check in result.checks:
        assert isinstance(check.value, float) and not math.isnan(check.value)
    json.dumps(result.to_dict(), allow_nan=False)


def test_repro_json_cli_prints_held(capsys):
    """``trustmap repro ID --json`` prints the metrics, the claim and a boolean ``held``."""
    from tests.cli.helpers import run_cli
    from trustmap.repro import base

    def fake(*, size, seed, progress):
        return base.ReproResult(method="toy-repro", claim="c.", held=False, rows=[{"method": "toy", "x": 1.0}],
                                checks=[base.Check("k", 1.0, ">= 3", False)], size=size, seeds=[seed])  # fmt: skip

    with base.REPROS.scoped():
        base.register_repro("toy-repro", title="Toy", arxiv="2209.07534")(fake)
        res = run_cli(capsys, "repro", "toy-repro", "--quick", "--json")
    assert res.code == 0 and json.loads(res.out)["held"] is False


def test_a_quick_result_never_claims_even_if_every_check_passes():
    from trustmap.repro.base import Check, ReproResult

    checks = [Check("k", 5.0, ">= 3", True)]
    assert ReproResult(method="m", claim="c.", held=True, rows=[], checks=checks, size="quick").held is False
    assert ReproResult(method="m", claim="c.", held=True, rows=[], checks=checks, size="default").held is True
