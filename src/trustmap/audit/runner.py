"""Run probes into a :class:`TrustReport`, storing each probe's result as soon as it finishes.

An audit is identified by a key (model hash, data hash, member files, budget, seed, probe options).
Re-running the same audit finds the finished probes in the results store and only runs the rest;
``fresh=True`` recomputes everything.

>>> report = run_audit(handle, audit_data, budget="standard", seed=0)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from trustmap.audit.scorecard import score_report
from trustmap.models.handle import ModelHandle
from trustmap.probes.base import AuditData, ProbeResult, budget_probes, declare, make_probe, probe_class
from trustmap.results import TrustReport
from trustmap.store import ResultsStore, library_versions
from trustmap.utils.seed import seed_everything

ProbeCallback = Callable[[ProbeResult, bool], None]


def audit_key(model: ModelHandle, data: AuditData, *, budget: str, seed: int, options: dict[str, Any]) -> str:
    def digest(split: Any) -> str:
        if split is None:
            return "-"
        h = hashlib.sha256(split.x.tobytes() if split.x.dtype != object else "\x1f".join(split.x).encode())
        h.update(split.y.tobytes())
        return h.hexdigest()

    payload = {
        "model": model.sha256 or model.source,
        "white_box": model.white_box,
        "data": data.dataset.sha256(),
        "eval": digest(data.eval),
        "members": digest(data.members),
        "nonmembers": digest(data.nonmembers),
        "pool": digest(data.pool),
        "sensitive": data.sensitive,
        "budget": budget,
        "seed": seed,
        "options": options,
    }
    return "audit-" + hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def selected_probes(budget: str, requested: list[str] | None) -> list[str]:
    """``requested`` (checked), or the probes that declare ``budget`` in their ``audit_budgets``."""
    names = list(requested) if requested else budget_probes(budget)
    for name in names:
        probe_class(name)  # raises a one-line error for unknown ids
    return names


def run_audit(
    model: ModelHandle,
    data: AuditData,
    *,
    budget: str = "standard",
    seed: int = 0,
    probes: list[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    store: ResultsStore | None = None,
    fresh: bool = False,
    progress: bool | None = None,
    on_probe: ProbeCallback | None = None,
    run_id: int | None = None,
) -> TrustReport:
    """Run the selected probes (default: the budget's set) and return the graded report."""
    options = options or {}
    names = selected_probes(budget, probes)
    instances = {n: make_probe(n, budget=budget, **options.get(n, {})) for n in names}
    key = audit_key(model, data, budget=budget, seed=seed, options={n: p.options() for n, p in instances.items()})
    if store is not None and fresh:
        store.drop_artifacts(key)
    results: list[ProbeResult] = []
    timings: dict[str, float] = {}
    for i, name in enumerate(names):
        probe = instances[name]
        cached = store.get_artifact(key, name) if store is not None else None
        if cached is not None:
            result = ProbeResult.from_dict(cached)
            resumed = True
        else:
            resumed = False
            start = time.perf_counter()
            reason = probe.skip_reason(model, data)
            if reason is not None:
                result = probe.result(status="skipped", reason=reason)
            else:
                seed_everything(seed + i)
                result = probe.run(model, data, seed=seed + i, progress=progress)
            result.seconds = round(time.perf_counter() - start, 3)
            if store is not None:
                store.put_artifact(key, name, result.to_dict(), run_id=run_id)
        declare(result, type(probe))  # results resumed from an older store get today's declarations too
        timings[name] = result.seconds
        results.append(result)
        if on_probe is not None:
            on_probe(result, resumed)
    meta = model.meta
    model_info = {
        "source": model.source,
        "sha256": model.sha256,
        "arch": meta.arch,
        "kind": meta.kind,
        "white_box": model.white_box,
        "num_classes": meta.num_classes,
        "dataset": meta.dataset,
    }
    if meta.extra.get("defence"):  # what the model was trained with, e.g. DP-SGD and its privacy budget
        model_info["defence"] = meta.extra["defence"]
        model_info |= {k: meta.extra[k] for k in ("epsilon", "delta", "eps") if k in meta.extra}
    data_info = {
        "name": data.dataset.name,
        "sha256": data.dataset.sha256(),
        "kind": data.dataset.kind,
        "n_eval": len(data.eval),
        "n_members": len(data.members) if data.members else 0,
        "n_nonmembers": len(data.nonmembers) if data.nonmembers else 0,
        "n_pool": len(data.pool) if data.pool else 0,
        "sensitive": data.sensitive,
        "classes": list(data.dataset.classes),
    }
    grades, weaknesses = score_report(results, model=model_info, data=data_info)
    return TrustReport(
        model=model_info,
        data=data_info,
        seed=seed,
        budget=budget,
        probes=results,
        scorecard=grades,
        weaknesses=weaknesses,
        config={"probes": names, "options": {n: p.options() for n, p in instances.items()}, "audit_key": key},
        versions=library_versions(),
        timings=timings,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
