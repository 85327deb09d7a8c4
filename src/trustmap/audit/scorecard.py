"""Grades per trust dimension, and the defence that mends each weakness.

Each rule reads one probe's metrics and turns them into a 0-1 score (1 = trustworthy) with a line of
evidence. A dimension's score is the minimum of its rules' scores (the weakest link), graded
A >= 0.9, B >= 0.75, C >= 0.6, D >= 0.4, else F. A rule whose score is below 0.6 is a weakness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trustmap.audit.model import Grade, Weakness
from trustmap.probes.base import DIMENSIONS, ProbeResult


@dataclass(frozen=True)
class Rule:
    probe: str
    dimension: str
    score: Callable[[dict[str, float]], float | None]
    evidence: Callable[[dict[str, float]], str]
    defence: str
    command: str


def _clip(v: float) -> float:
    return max(0.0, min(1.0, v))


def _ratio(m: dict[str, float], num: str, den: str) -> float | None:
    if num not in m or den not in m or not m[den]:
        return None
    return _clip(m[num] / m[den])


HARDEN_BAT = "trustmap harden --method bat --data DATA --arch ARCH --out hardened.pt2"
RULES: tuple[Rule, ...] = (
    Rule("pgd-linf", "robustness", lambda m: _ratio(m, "robust_accuracy", "clean_accuracy"),
         lambda m: f"PGD L-inf keeps {m.get('robust_accuracy', 0):.1%} accuracy (clean {m.get('clean_accuracy', 0):.1%})",
         "bat", HARDEN_BAT),
    Rule("pgd-l2", "robustness", lambda m: _ratio(m, "robust_accuracy", "clean_accuracy"),
         lambda m: f"PGD L2 keeps {m.get('robust_accuracy', 0):.1%} accuracy",
         "pgd-at", "trustmap harden --method pgd-at --data DATA --arch ARCH --out hardened.pt2"),
    Rule("apgd-ce", "robustness", lambda m: _ratio(m, "robust_accuracy", "clean_accuracy"),
         lambda m: f"APGD-CE keeps {m.get('robust_accuracy', 0):.1%} accuracy", "bat", HARDEN_BAT),
    Rule("fgsm", "robustness", lambda m: _ratio(m, "robust_accuracy", "clean_accuracy"),
         lambda m: f"FGSM keeps {m.get('robust_accuracy', 0):.1%} accuracy", "bat", HARDEN_BAT),
    Rule("corruptions", "robustness", lambda m: _ratio(m, "corrupted_accuracy", "clean_accuracy"),
         lambda m: f"common corruptions keep {m.get('corrupted_accuracy', 0):.1%} accuracy", "bat", HARDEN_BAT),
    Rule("mia-loss", "privacy", lambda m: _clip(1 - 2 * (m["auc"] - 0.5)) if "auc" in m else None,
         lambda m: f"loss-threshold membership AUC {m.get('auc', 0):.3f}",
         "sfr-on", "trustmap unlearn --method sfr-on --forget random:0.1 --model MODEL --out unlearned.pt2"),
    Rule("mia-confidence", "privacy", lambda m: _clip(1 - 2 * (m["auc"] - 0.5)) if "auc" in m else None,
         lambda m: f"confidence-threshold membership AUC {m.get('auc', 0):.3f}",
         "sfr-on", "trustmap unlearn --method sfr-on --forget random:0.1 --model MODEL --out unlearned.pt2"),
    Rule("mia-rmia", "privacy",
         lambda m: min(_clip(1 - 2 * (m["auc"] - 0.5)), _clip(1 - 20 * m.get("tpr_at_0.1fpr", 0))) if "auc" in m else None,
         lambda m: f"RMIA membership AUC {m.get('auc', 0):.3f}, TPR {m.get('tpr_at_0.1fpr', 0):.2%} at 0.1% FPR",
         "teeslice", "trustmap repro teeslice  (shield the model's private slices in a TEE)"),
    Rule("knockoff", "security",
         lambda m: _clip(1 - m["fidelity"]) * 2 if "fidelity" in m else None,
         lambda m: f"a KnockoffNets thief reaches {m.get('thief_accuracy', 0):.1%} accuracy, "
                   f"{m.get('fidelity', 0):.1%} agreement with the model",
         "ini", "trustmap harden --method ini --data DATA --arch ARCH --out guarded.pt2"),
    # the clean gap counts too: when no class is robust, the robust gap is small but says nothing
    Rule("robust-fairness", "fairness",
         lambda m: _clip(1 - max(m["robust_gap"], m.get("clean_gap", 0.0))) if "robust_gap" in m else None,
         lambda m: f"worst class {m.get('worst_class', '?')}: clean accuracy {m.get('worst_class_clean', 0):.1%} "
                   f"(gap {m.get('clean_gap', 0):.1%}), robust {m.get('worst_class_robust', 0):.1%} "
                   f"(gap {m.get('robust_gap', 0):.1%})",
         "bat", HARDEN_BAT),
    Rule("group-fairness", "fairness",
         lambda m: _clip(1 - 4 * max(m.get("demographic_parity_difference", 0), m.get("equalized_odds_difference", 0)))
         if "demographic_parity_difference" in m else None,
         lambda m: f"demographic-parity difference {m.get('demographic_parity_difference', 0):.3f}, "
                   f"equalized-odds difference {m.get('equalized_odds_difference', 0):.3f}",
         "none-yet", "no trustmap defence yet: retrain with a fairness constraint (e.g. Fairlearn's reductions)"),
)  # fmt: skip


def letter(score: float) -> str:
    for grade, bound in (("A", 0.9), ("B", 0.75), ("C", 0.6), ("D", 0.4)):
        if score >= bound:
            return grade
    return "F"


def score_report(probes: list[ProbeResult]) -> tuple[list[Grade], list[Weakness]]:
    """Grade every dimension from the probes that ran, and list the weaknesses with their defence."""
    by_id = {p.probe: p for p in probes if p.status == "ok"}
    scores: dict[str, list[float]] = {d: [] for d in DIMENSIONS}
    evidence: dict[str, list[str]] = {d: [] for d in DIMENSIONS}
    weaknesses: list[Weakness] = []
    for rule in RULES:
        result = by_id.get(rule.probe)
        if result is None:
            continue
        s = rule.score(result.metrics)
        if s is None:
            continue
        s = round(_clip(s), 4)
        line = f"{rule.evidence(result.metrics)} (score {s:.2f})"
        scores[rule.dimension].append(s)
        evidence[rule.dimension].append(line)
        if s < 0.6:
            weaknesses.append(Weakness(rule.dimension, rule.probe, rule.evidence(result.metrics), rule.defence,
                                       rule.command))  # fmt: skip
    grades = []
    for d in DIMENSIONS:
        skipped = [f"{p.title}: skipped ({p.reason})" for p in probes if p.dimension == d and p.status != "ok"]
        if scores[d]:
            s = min(scores[d])
            grades.append(Grade(d, letter(s), s, evidence[d] + skipped))
        else:
            grades.append(Grade(d, "n/a", None, skipped or ["no probe of this dimension ran"]))
    return grades, weaknesses
