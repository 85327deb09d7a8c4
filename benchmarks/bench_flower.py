"""Rounds per second: trustmap's in-process engine versus the same strategy and clients under Flower.

Both engines run the identical workload (same FederationSpec, strategy, seeds; the in-process engine
reproduces Flower's results exactly, see tests/federated/test_engines.py). Flower's time includes
starting Ray and the SuperNodes, which is what a user pays per run; the per-round figure after the first
round is printed too.

    OMP_NUM_THREADS=1 python benchmarks/bench_flower.py --clients 10 --rounds 5
"""

from __future__ import annotations

import argparse
import time

from trustmap.federated import FederationSpec, build_federation, make_strategy, run_inprocess
from trustmap.federated.flower import run_flower


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--image-size", type=int, default=14)
    args = ap.parse_args()
    spec = FederationSpec(num_clients=args.clients, partition="dirichlet:0.5", train_per_client=args.samples,
                          test_per_client=50, image_size=args.image_size)
    build_federation(spec)  # data loading excluded from both timings
    common = dict(rounds=args.rounds, per_round=args.per_round, seed=0, evaluate_global=False)
    t = time.perf_counter()
    hi = run_inprocess(build_federation(spec), strategy=make_strategy("fedavg"), progress=False, **common)
    t_in = time.perf_counter() - t
    t = time.perf_counter()
    hf = run_flower(spec, strategy=make_strategy("fedavg"), **common)
    t_fl = time.perf_counter() - t
    same = [r["client_accuracy"] for r in hi.rounds] == [r["client_accuracy"] for r in hf.rounds]
    steady_in = (hi.rounds[-1]["seconds"] - hi.rounds[0]["seconds"]) / max(args.rounds - 1, 1)
    steady_fl = (hf.rounds[-1]["seconds"] - hf.rounds[0]["seconds"]) / max(args.rounds - 1, 1)
    print(f"workload: {args.clients} clients, {args.per_round}/round, {args.rounds} rounds, "
          f"{args.samples} samples/client, {args.image_size}px, CNN-S, FedAvg; identical results: {same}")
    print(f"in-process: {args.rounds / t_in:.3f} rounds/s ({t_in:.1f} s)")
    print(f"flower    : {args.rounds / t_fl:.3f} rounds/s ({t_fl:.1f} s, incl. Ray start-up)")
    print(f"ratio in-process / flower (whole run): {t_fl / t_in:.2f}x")
    print(f"steady state s/round after round 1: in-process {steady_in:.2f}, flower {steady_fl:.2f} "
          f"(ratio {steady_fl / max(steady_in, 1e-9):.2f}x)")


if __name__ == "__main__":
    main()
