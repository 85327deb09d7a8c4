"""The library side of ``trustmap fl run``: run a federated simulation and record it in the results store.

>>> outcome = federate(store=ResultsStore.open(), strategy="fedavg", clients=20, rounds=30, seed=0)
>>> outcome.history.final["client_accuracy"], outcome.run_id
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trustmap.errors import TrustmapError
from trustmap.federated.runner import run_federated
from trustmap.federated.sim import FLHistory, RoundHook
from trustmap.store import ResultsStore, recorded
from trustmap.utils.seed import check_seed


@dataclass(frozen=True)
class FLOutcome:
    history: FLHistory
    args: dict[str, Any]
    run_id: int  # 0 when no store was given


def federate(
    *,
    store: ResultsStore | None,
    strategy: str = "fedavg",
    clients: int = 20,
    partition: str = "iid",
    rounds: int = 30,
    per_round: int = 10,
    samples_per_client: int = 1000,
    test_per_client: int = 200,
    model: str | None = None,
    image_size: int = 28,
    engine: str = "inprocess",
    seed: int = 0,
    progress: bool | None = None,
    on_round: RoundHook | None = None,
) -> FLOutcome:
    """:func:`run_federated` with the same arguments, recorded as an ``fl run`` run in ``store``."""
    seed = check_seed(seed)
    for flag, value in (("--samples", samples_per_client), ("--test-samples", test_per_client)):
        if value < 1:
            raise TrustmapError(f"{flag} must be at least 1 (examples per client), got {value}")
    args = {
        "strategy": strategy,
        "clients": clients,
        "partition": partition,
        "rounds": rounds,
        "per_round": per_round,
        "samples": samples_per_client,
        "test_samples": test_per_client,
        "model": model,
        "image_size": image_size,
        "engine": engine,
    }
    with recorded(store, "fl run", args=args, seed=seed) as run:
        hist = run_federated(
            strategy=strategy,
            clients=clients,
            partition=partition,
            rounds=rounds,
            per_round=per_round,
            samples_per_client=samples_per_client,
            test_per_client=test_per_client,
            model=model,
            image_size=image_size,
            engine=engine,
            seed=seed,
            progress=progress,
            on_round=on_round,
        )
        metrics = {k: v for k, v in hist.final.items() if isinstance(v, (int, float))}
        metrics["rounds_per_second"] = rounds / hist.seconds if hist.seconds else 0.0
        run.note(dataset="fashion-mnist", metrics=metrics, timings={"total": hist.seconds})
    return FLOutcome(hist, args, run.id)
