"""``trustmap repro hugnlp``: config-only switching, the checks on hand-made runs, and the quick run."""

from __future__ import annotations

import json

import pytest

from trustmap.repro.base import ReproResult
from trustmap.repro.hugnlp import ARMS, SIZES, TASKS, hugnlp_checks, only_task_differs, task_configs


def test_task_configs_differ_in_the_task_alone():
    configs = task_configs(SIZES["default"], seed=3)
    assert len(configs) == len(TASKS) * len(ARMS) and only_task_differs(configs)
    configs[1] = {**configs[1], "epochs": 2}
    assert not only_task_differs(configs)


def _runs(margins: dict[str, float], *, freeze_margin: float = 0.3, trainable: int = 1_775_000) -> list[dict]:
    runs = []
    for s in (0, 1, 2):
        for t in TASKS:
            base = 0.58 if t == "sentiment" else 0.05
            for arm in ARMS:
                gain = margins[t] if arm == "default" else freeze_margin
                runs.append(
                    {
                        "task": t,
                        "arm": arm,
                        "seed": s,
                        "score": base + gain + 0.005 * s,
                        "baseline_score": base,
                        "trainable": trainable if arm == "use_freezing" else 3_550_000,
                        "total": 22_566_146,
                        **({"bald_gap": 8.0 + s} if t == "sentiment" and arm == "default" else {}),
                    }
                )
    return runs


def test_checks_hold_and_fail_on_the_right_numbers():
    good = hugnlp_checks(_runs({"sentiment": 0.2, "opinion-tags": 0.5, "opinion-span": 0.6}), config_only=True)
    assert {c.kind for c in good} == {"sanity", "claim", "info"}
    assert ReproResult(method="hugnlp", claim="c.", rows=[], checks=good).status == "held"
    weak = hugnlp_checks(_runs({"sentiment": 0.12, "opinion-tags": 0.5, "opinion-span": 0.6}), config_only=True)
    failed = [c.name for c in weak if c.verdict == "failed"]
    assert failed == ["sentiment: default arm minus trivial baseline (points)"]
    fat = hugnlp_checks(_runs({t: 0.5 for t in TASKS}, trainable=5_000_000), config_only=True)
    assert any(c.name.startswith("use_freezing: trainable") and c.verdict == "failed" for c in fat)
    worse = hugnlp_checks(_runs({t: -0.02 for t in TASKS}), config_only=True)
    assert ReproResult(method="hugnlp", claim="c.", rows=[], checks=worse).status == "not a test"


@pytest.mark.slow
def test_quick_run():
    from trustmap.repro import repro_info

    result = repro_info("hugnlp").run(size="quick", seed=0, progress=False)
    assert result.status == "smoke run" and result.seeds == [0, 1]
    assert [r["method"] for r in result.rows] == [f"{t}/{a}" for t in TASKS for a in ARMS]
    assert all(len(r["score_per_seed"]) == 2 for r in result.rows)
    freeze = next(r for r in result.rows if r["method"] == "opinion-tags/use_freezing")
    assert freeze["trainable"] < 0.1 * freeze["total"]
    json.dumps(result.to_dict())
