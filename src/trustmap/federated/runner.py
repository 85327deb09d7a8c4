"""One entry point for ``trustmap fl run``: validate the inputs, pick the engine, run, return the history.

>>> hist = run_federated(strategy="fedprox", clients=20, partition="dirichlet:0.1", rounds=30, engine="inprocess")
"""

from __future__ import annotations

from trustmap.errors import TrustmapError
from trustmap.federated.federation import FederationSpec, build_federation
from trustmap.federated.partition import parse_partition
from trustmap.federated.sim import FLHistory, RoundHook, run_inprocess
from trustmap.federated.strategy import make_strategy

ENGINES = ("inprocess", "flower")


def run_federated(
    *,
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
) -> FLHistory:
    """Build the federation from the arguments and run ``strategy`` on it (checks inputs first)."""
    if engine not in ENGINES:
        raise TrustmapError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    strat = make_strategy(strategy)
    model = model or ("cnn-s-bn" if strategy == "distfl" else "cnn-s")  # DistFL's probes need BatchNorm
    if strategy == "distfl" and model != "cnn-s-bn":
        raise TrustmapError("distfl synthesises probes from BatchNorm statistics: use --model cnn-s-bn")
    if clients < 1:
        raise TrustmapError(f"need at least one client, got {clients}")
    if rounds < 1 or per_round < 1:
        raise TrustmapError("rounds and clients per round must be at least 1")
    if samples_per_client < 1:
        raise TrustmapError(f"samples per client must be at least 1, got {samples_per_client}")
    parse_partition(partition)  # one-line errors for bad specs and alpha <= 0
    spec = FederationSpec(
        num_clients=clients,
        partition=partition,
        train_per_client=samples_per_client,
        test_per_client=test_per_client,
        image_size=image_size,
        seed=seed,
    )
    fed = build_federation(spec)
    per_round = min(per_round, clients)
    if engine == "flower":
        from trustmap.federated.flower import run_flower

        return run_flower(
            spec, strategy=strat, rounds=rounds, per_round=per_round, model=model, seed=seed, on_round=on_round
        )
    return run_inprocess(
        fed,
        strategy=strat,
        rounds=rounds,
        per_round=per_round,
        model=model,
        seed=seed,
        progress=progress,
        on_round=on_round,
    )
