"""Structured pruning for transfer: FLOPs and parameters against target accuracy, TransTailor vs L1-norm and
random filter pruning (equal FLOPs), unstructured magnitude pruning (sparse FLOPs) and the unpruned model.

The setting of ``trustmap repro transtailor``: CNN-4 (width 16) pre-trained on Fashion-MNIST classes 0-4,
transferred to classes 5-9 with ``--shots`` images per class, each pruned arm cut to ``--ratio`` of the
MACs. :func:`bench_rows` (importable) returns one row per arm and seed: method, MACs, FLOPs kept,
parameters, target accuracy. The table shows the mean over ``--seeds``.

Ratios (``BENCH`` lines): TransTailor's accuracy / L1-filter's (target >= 1.0: target-aware pruning is not
worse than magnitude filter pruning at equal FLOPs) and TransTailor's MACs / L1-filter's (target <= 1.02:
the budgets really are equal).

Run alone with ``python benchmarks/_transtailor.py [--quick] [--seeds 3] [--ratio 0.7] [--json out.json]``;
``benchmarks/bench_compression.py`` runs it as its ``transtailor`` section (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from _report import Ratio, at_least, at_most, report

from trustmap.data import load_dataset
from trustmap.repro.transtailor import SIZES, compare_arms, load_transfer, pretrain, target_shots


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--ratio", type=float, default=0.7, help="MACs kept by the pruned arms (default 0.7)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the rows here")
    return p.parse_args(argv)


def bench_rows(*, size: str = "default", seeds: int = 3, ratio: float = 0.7) -> list[dict]:
    """One row per (seed, arm): ``seed, method, accuracy, macs, flops_kept, params`` (see the module docstring)."""
    cfg = SIZES[size]
    ds = load_dataset("fashion-mnist")
    source, pool, test = load_transfer(ds, source_n=cfg["source_n"], test=cfg["test"])
    pretrained = pretrain(source, epochs=cfg["pretrain_epochs"], seed=0)
    rows = []
    for s in range(seeds):
        train = target_shots(pool, cfg["shots"], seed=s)
        arms, _ = compare_arms(
            pretrained, train, test, seed=s, init_epochs=cfg["init_epochs"], prune=cfg["prune"], flops_ratio=ratio
        )
        rows += [{"seed": s, **r} for r in arms]
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = bench_rows(
        size="quick" if args.quick else "default", seeds=2 if args.quick else args.seeds, ratio=args.ratio
    )
    methods = list(dict.fromkeys(r["method"] for r in rows))
    mean = {
        m: {
            k: float(np.mean([r[k] for r in rows if r["method"] == m]))
            for k in ("accuracy", "macs", "flops_kept", "params")
        }
        for m in methods
    }
    print(f"{'method':28s} {'MACs':>10s} {'FLOPs kept':>10s} {'params':>9s} {'accuracy':>9s}")
    for m in methods:
        v = mean[m]
        print(f"{m:28s} {v['macs']:10.0f} {v['flops_kept']:10.3f} {v['params']:9.0f} {v['accuracy']:9.4f}")
    print(
        f"({len(rows) // len(methods)} seeds, {time.perf_counter() - start:.0f} s; magnitude: non-zero MACs and weights)"
    )
    acc = mean["transtailor"]["accuracy"] / mean["l1-filter"]["accuracy"]
    macs = mean["transtailor"]["macs"] / mean["l1-filter"]["macs"]
    report(
        "transtailor",
        [
            Ratio(
                "target accuracy",
                "transtailor",
                "l1-filter",
                acc,
                "TransTailor's accuracy / L1-filter pruning's at equal FLOPs",
                *at_least(acc, 1.0),
            ),
            Ratio(
                "MACs",
                "transtailor",
                "l1-filter",
                macs,
                "TransTailor's MACs / L1-filter pruning's (equal budgets)",
                *at_most(macs, 1.02),
            ),
        ],
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
