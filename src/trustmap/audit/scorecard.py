"""Grades per trust dimension, and the defence that mends each weakness.

Each probe declares its own scorecard rule (:attr:`Probe.rule <trustmap.probes.Probe.rule>`, a
:class:`~trustmap.probes.ScoreRule`): it reads the probe's metrics and turns them into a 0-1 score
(1 = trustworthy) with a line of evidence. A dimension's score is the minimum of its rules' scores (the
weakest link), graded A >= 0.9, B >= 0.75, C >= 0.6, D >= 0.4, else F; its evidence lists the weakest
first. A rule whose score is below 0.6 is a weakness, and its mend-with command is filled in with the
audited model's dataset, architecture and file.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from trustmap.probes.base import DIMENSIONS, PROBES, ProbeResult, ScoreRule, clip01
from trustmap.results import Grade, Weakness

WEAK_BELOW = 0.6


def letter(score: float) -> str:
    for grade, bound in (("A", 0.9), ("B", 0.75), ("C", 0.6), ("D", 0.4)):
        if score >= bound:
            return grade
    return "F"


def probe_rule(probe_id: str) -> ScoreRule | None:
    """The scorecard rule the probe registered under ``probe_id`` declares (``None``: not graded)."""
    return PROBES.get(probe_id).rule if probe_id in PROBES else None


def command_fields(model: Mapping[str, Any] | None, data: Mapping[str, Any] | None) -> dict[str, str]:
    """What a rule's ``{data}``, ``{arch}`` and ``{model}`` stand for in this audit (shell-quoted)."""
    model, data = model or {}, data or {}
    values = {
        "data": model.get("dataset") or data.get("name"),  # what the model was trained on, else what it was audited on
        "arch": model.get("arch"),
        "model": model.get("source") or model.get("path"),
    }
    return {k: shlex.quote(str(v)) if v else k.upper() for k, v in values.items()}


def score_report(
    probes: list[ProbeResult],
    *,
    model: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[list[Grade], list[Weakness]]:
    """Grade every dimension from the probes that ran, and list the weaknesses with their defence.

    ``model`` and ``data`` are the report's descriptions of the audited model and data; they fill in the
    mend-with commands (``DATA``/``ARCH``/``MODEL`` stay where they are unknown).
    """
    fields = command_fields(model, data)
    scored: dict[str, list[tuple[float, str]]] = {d: [] for d in DIMENSIONS}
    weaknesses: list[Weakness] = []
    for result in probes:
        rule = probe_rule(result.probe) if result.status == "ok" else None
        if rule is None:
            continue
        s = rule.score(result.metrics)
        if s is None:
            continue
        s = round(clip01(s), 4)
        evidence = rule.evidence(result.metrics)
        scored[result.dimension].append((s, f"{evidence} (score {s:.2f})"))
        if s < WEAK_BELOW:
            weaknesses.append(
                Weakness(result.dimension, result.probe, evidence, rule.defence, rule.filled_command(**fields))
            )
    grades = []
    for d in DIMENSIONS:
        skipped = [f"{p.title}: skipped ({p.reason})" for p in probes if p.dimension == d and p.status != "ok"]
        if scored[d]:
            ranked = sorted(scored[d], key=lambda item: item[0])  # stable: the weakest link first
            grades.append(Grade(d, letter(ranked[0][0]), ranked[0][0], [line for _, line in ranked] + skipped))
        else:
            grades.append(Grade(d, "n/a", None, skipped or ["no probe of this dimension ran"]))
    return grades, weaknesses
