"""Rounds per second: trustmap's in-process engine versus the same strategy and clients under Flower.

Both engines run the identical workload (same FederationSpec, strategy, seeds; the in-process engine
reproduces Flower's results exactly, see tests/federated/test_engines.py). Flower's time includes
starting Ray and the SuperNodes, which is what a user pays per run; the per-round figure after the first
round is printed too.

    OMP_NUM_THREADS=1 python benchmarks/bench_flower.py --clients 10 --rounds 5

``--quick`` (4 clients, 2 per round, 2 rounds, 100 samples each) only checks that it runs; ``make bench``
(``benchmarks/run_all.py``) collects the ratios.
"""

from __future__ import annotations

import argparse
import sys
import time

from _report import Ratio, at_most, report

from trustmap.federated import (
    FederationSpec,
    build_federation,
    make_strategy,
    run_inprocess,
)
from trustmap.federated.flower import run_flower


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--image-size", type=int, default=14)
    ap.add_argument("--quick", action="store_true", help="small sizes (4 clients, 2 per round, 2 rounds, 100 samples)")
    args = ap.parse_args(argv)
    if args.quick:
        args.clients, args.per_round, args.rounds, args.samples = 4, 2, 2, 100
    spec = FederationSpec(
        num_clients=args.clients,
        partition="dirichlet:0.5",
        train_per_client=args.samples,
        test_per_client=50,
        image_size=args.image_size,
    )
    build_federation(spec)  # data loading excluded from both timings
    common = dict(rounds=args.rounds, per_round=args.per_round, seed=0, evaluate_global=False)
    t = time.perf_counter()
    hi = run_inprocess(build_federation(spec), strategy=make_strategy("fedavg"), progress=False, **common)
    t_in = time.perf_counter() - t
    t = time.perf_counter()
    hf = run_flower(spec, strategy=make_strategy("fedavg"), **common)
    t_fl = time.perf_counter() - t
    same = [r["client_accuracy"] for r in hi.rounds] == [r["client_accuracy"] for r in hf.rounds]
    gap = max(
        (abs(ri["client_accuracy"] - rf["client_accuracy"]) for ri, rf in zip(hi.rounds, hf.rounds, strict=True)),
        default=float("nan"),
    )
    steady_in = (hi.rounds[-1]["seconds"] - hi.rounds[0]["seconds"]) / max(args.rounds - 1, 1)
    steady_fl = (hf.rounds[-1]["seconds"] - hf.rounds[0]["seconds"]) / max(args.rounds - 1, 1)
    print(
        f"workload: {args.clients} clients, {args.per_round}/round, {args.rounds} rounds, "
        f"{args.samples} samples/client, {args.image_size}px, CNN-S, FedAvg; identical results: {same}"
    )
    print(f"in-process: {args.rounds / t_in:.3f} rounds/s ({t_in:.1f} s)")
    print(f"flower    : {args.rounds / t_fl:.3f} rounds/s ({t_fl:.1f} s, incl. Ray start-up)")
    print(f"ratio in-process / flower (whole run): {t_fl / t_in:.2f}x")
    print(
        f"steady state s/round after round 1: in-process {steady_in:.2f}, flower {steady_fl:.2f} "
        f"(ratio {steady_fl / max(steady_in, 1e-9):.2f}x)"
    )
    report(
        "flower",
        [
            Ratio(
                "whole-run time",
                "in-process",
                "flower",
                t_in / t_fl,
                "trustmap's in-process engine / Flower on the same workload, Ray start-up included (< 1: faster)",
            ),
            Ratio(
                "s/round after round 1",
                "in-process",
                "flower",
                steady_in / max(steady_fl, 1e-9),
                "steady-state seconds per round, in-process / Flower",
            ),
            Ratio(
                "client accuracy diff",
                "in-process",
                "flower",
                gap,
                "largest difference of a round's mean client accuracy between the engines (they must agree exactly)",
                *at_most(gap, 0.0),
            ),
        ],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
