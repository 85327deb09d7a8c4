"""The probe registry: the audit's budget sets and run order, and the built-in probes' declarations."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trustmap.audit.gate import FALLBACK_DIRECTIONS
from trustmap.errors import TrustmapError
from trustmap.probes import PROBES, budget_probes, probe_class, probe_ids, register_probe

QUICK = [
    "fgsm",
    "pgd-linf",
    "eps-sweep",
    "corruptions",
    "mia-loss",
    "mia-confidence",
    "knockoff",
    "robust-fairness",
    "group-fairness",
    "ddi-coco",
    "graph-structure",
]
STANDARD = [
    "fgsm",
    "pgd-linf",
    "pgd-l2",
    "eps-sweep",
    "corruptions",
    "mia-loss",
    "mia-confidence",
    "mia-rmia",
    "knockoff",
    "robust-fairness",
    "group-fairness",
    "ddi-coco",
    "backdoor-scan",
    "graph-structure",
]
THOROUGH = [
    "fgsm",
    "pgd-linf",
    "pgd-l2",
    "apgd-ce",
    "eps-sweep",
    "corruptions",
    "mia-loss",
    "mia-confidence",
    "mia-rmia",
    "mia-lira",
    "knockoff",
    "robust-fairness",
    "group-fairness",
    "ddi-coco",
    "backdoor-scan",
    "graph-structure",
]


def test_budget_sets_and_order_are_what_the_probes_declare():
    assert budget_probes("quick") == QUICK
    assert budget_probes("standard") == STANDARD
    assert budget_probes("thorough") == THOROUGH == probe_ids()
    with pytest.raises(TrustmapError, match="unknown budget 'fast'"):
        budget_probes("fast")


def test_run_order_does_not_depend_on_which_module_was_imported_first():
    code = (
        "import trustmap.probes.fairness, trustmap.probes.membership.rmia; "
        "from trustmap.probes import probe_ids; print(','.join(probe_ids()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().split(",") == THOROUGH


def test_unknown_probe_is_one_line_naming_the_valid_ids():
    with pytest.raises(TrustmapError, match="unknown probe 'pgd'; choose from .*pgd-linf") as info:
        probe_class("pgd")
    assert "\n" not in str(info.value)


def test_every_built_in_probe_declares_what_the_audit_needs():
    for pid in probe_ids():
        cls = probe_class(pid)
        assert cls.headline and cls.headline in cls.directions, pid
        assert cls.audit_budgets, pid
        assert (cls.rule is None) == (pid == "eps-sweep"), pid  # the sweep is a curve: graded through pgd-linf
        # a probe's declaration never contradicts the generic fallback for old reports
        for metric, direction in cls.directions.items():
            assert FALLBACK_DIRECTIONS.get(metric, direction) == direction, (pid, metric)


def test_mend_with_is_pgd_at_for_mean_robustness_and_bat_for_the_worst_class():
    for pid in ("fgsm", "pgd-linf", "pgd-l2", "apgd-ce", "corruptions"):
        rule = probe_class(pid).rule
        assert rule is not None and rule.defence == "pgd-at" and "--method pgd-at" in rule.command
        filled = rule.filled_command(data="fashion-mnist", arch="cnn")
        assert filled == "trustmap harden --method pgd-at --data fashion-mnist --arch cnn --out hardened.pt2"
    assert probe_class("robust-fairness").rule.defence == "bat"


def test_registering_twice_is_a_no_op_and_a_clash_is_refused():
    cls = probe_class("fgsm")
    assert register_probe(cls) is cls and probe_ids().count("fgsm") == 1
    clash = type("Clash", (cls,), {})
    with pytest.raises(ValueError, match="'fgsm' is already registered"):
        register_probe(clash)
    with pytest.raises(ValueError, match="must be lower-case"):
        PROBES.add("Bad_Id", cls)
