"""Model compression, size against accuracy: each method next to its baselines at equal size.

Sections are row-producing functions in :data:`SECTIONS`; each returns its table rows (:class:`Row`) and its
ratios for ``benchmarks/run_all.py`` (``BENCH`` lines). Add a method by appending a function.

* ``deltadq``: MiniLM fine-tuned on RT (delta in the encoder's linear weights), compressed at 16x/64x/128x
  with DeltaDQ, DARE, BitDelta-lite and magnitude pruning (:mod:`trustmap.compress`); size = bits per delta
  entry, accuracy on RT test snippets, one mask seed. Ratios: DeltaDQ minus DARE at 64x (points; methods.md's
  target >= 3) and DeltaDQ at 16x minus the uncompressed model (target >= -1).

* ``transtailor``: CNN-4 pre-trained on Fashion-MNIST classes 0-4, transferred to 5-9 (30 shots per class),
  each pruned arm cut to 0.7 of the MACs: TransTailor, L1-filter and random filter pruning (equal FLOPs),
  unstructured magnitude pruning (non-zero MACs) and the unpruned fine-tune; size = MACs (millions),
  ``compression`` = unpruned MACs / arm's MACs, mean over 3 seeds (2 with ``--quick``). Ratios: TransTailor's
  accuracy minus L1-filter's (points; target >= 1) and TransTailor's MACs / L1-filter's (equal budgets, <= 1.02).

    python benchmarks/bench_compression.py [--quick] [--only deltadq|transtailor] [--json out.json]

``--quick`` (32 training / 32 test snippets, the top layer only, 16x and 64x) only checks that it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from _report import Ratio, at_least, at_most, report

from trustmap.utils.threads import set_threads


@dataclass
class Row:
    section: str
    method: str
    setting: str  # e.g. "64x"
    size: float  # bits per compressed parameter (or another size measure named in ``size_unit``)
    size_unit: str
    compression: float  # achieved ratio (uncompressed size / compressed size)
    accuracy: float
    seconds: float = 0.0


Section = Callable[[bool], tuple[list[Row], list[Ratio]]]


def deltadq_section(quick: bool) -> tuple[list[Row], list[Ratio]]:
    """DeltaDQ and its baselines on one fine-tuned MiniLM (see the module docstring)."""
    import torch

    from trustmap.adapt.minilm import fresh_minilm
    from trustmap.adapt.train import accuracy
    from trustmap.compress import bitdelta_lite, compress_deltadq, dare, magnitude
    from trustmap.compress.workflow import calibration_inputs
    from trustmap.repro._adapt_experiment import rt_splits
    from trustmap.repro.deltadq import delta_names, fine_tune

    n_train, n_test, layers, ratios = (32, 32, 1, (16, 64)) if quick else (2000, 500, 6, (16, 64, 128))
    extra = {"groups": (32, 0), "bits_choices": (2, 4)} if quick else {}
    train, _, test = rt_splits(n_train=n_train, n_test=n_test, seed=0)
    model = fine_tune(train, seed=0, layers=layers, progress=False)
    base = fresh_minilm(seed=0).state_dict()
    names = delta_names(model, layers)
    ft = {n: p.detach().clone() for n, p in model.named_parameters() if n in names}
    deltas = {n: ft[n] - base[n] for n in names}
    calib = calibration_inputs(model, train.x[: 4 if quick else 64], names=names)

    def evaluate(est: dict[str, torch.Tensor]) -> float:
        with torch.no_grad():
            params = dict(model.named_parameters())
            for n in names:
                params[n].copy_(base[n] + est[n])
        return accuracy(model, test)

    rows = [Row("deltadq", "uncompressed", "1x", 16.0, "bits/delta entry", 1.0, evaluate(deltas))]
    for ratio in ratios:
        t = time.process_time()
        cd = compress_deltadq(deltas, ratio=ratio, calib=calib, seed=0, **extra)
        secs = time.process_time() - t
        rows.append(
            Row(
                "deltadq",
                "deltadq",
                f"{ratio}x",
                cd.bits_per_entry,
                "bits/delta entry",
                cd.ratio,
                evaluate(cd.reconstruct()),
                secs,
            )
        )
        for est in (dare(deltas, ratio=ratio), bitdelta_lite(deltas, ratio=ratio), magnitude(deltas, ratio=ratio)):
            rows.append(
                Row(
                    "deltadq",
                    est.method,
                    f"{ratio}x",
                    est.bits_per_entry,
                    "bits/delta entry",
                    est.ratio,
                    evaluate(est.deltas),
                )
            )
        print(f"  measured {ratio}x", flush=True)
    acc = {(r.method, r.setting): r.accuracy for r in rows}
    mid = f"{ratios[1]}x"
    gap = 100 * (acc[("deltadq", mid)] - acc[("dare", mid)])
    keep = 100 * (acc[("deltadq", "16x")] - acc[("uncompressed", "1x")])
    ratios_out = [
        Ratio(
            "accuracy difference (points)",
            f"deltadq {mid}",
            f"dare {mid}",
            gap,
            "DeltaDQ's RT accuracy minus DARE's at equal bits",
            *at_least(gap, 3.0),
        ),
        Ratio(
            "accuracy difference (points)",
            "deltadq 16x",
            "uncompressed",
            keep,
            "DeltaDQ's accuracy at 16x minus the uncompressed fine-tune's",
            *at_least(keep, -1.0),
        ),
    ]
    return rows, ratios_out


def transtailor_section(quick: bool) -> tuple[list[Row], list[Ratio]]:
    """TransTailor and its pruning baselines at equal FLOPs (see the module docstring)."""
    import numpy as np
    from _transtailor import bench_rows

    start = time.perf_counter()
    per_seed = bench_rows(size="quick" if quick else "default", seeds=2 if quick else 3, ratio=0.7)
    methods = list(dict.fromkeys(r["method"] for r in per_seed))
    mean = {
        m: {k: float(np.mean([r[k] for r in per_seed if r["method"] == m])) for k in ("accuracy", "macs")}
        for m in methods
    }
    full = max(v["macs"] for v in mean.values())
    secs = (time.perf_counter() - start) / max(len(methods), 1)
    rows = [
        Row(
            "transtailor",
            m,
            f"{v['macs'] / full:.2f} MACs",
            v["macs"] / 1e6,
            "MACs (millions)",
            full / v["macs"],
            v["accuracy"],
            secs,
        )
        for m, v in mean.items()
    ]
    gap = 100 * (mean["transtailor"]["accuracy"] - mean["l1-filter"]["accuracy"])
    macs = mean["transtailor"]["macs"] / mean["l1-filter"]["macs"]
    return rows, [
        Ratio(
            "accuracy difference (points)",
            "transtailor",
            "l1-filter",
            gap,
            "TransTailor's target accuracy minus L1-filter pruning's at equal FLOPs",
            *at_least(gap, 1.0),
        ),
        Ratio("MACs", "transtailor", "l1-filter", macs, "TransTailor's MACs / L1-filter's", *at_most(macs, 1.02)),
    ]


SECTIONS: list[Section] = [deltadq_section, transtailor_section]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: checks that it runs")
    ap.add_argument("--only", choices=[f.__name__.removesuffix("_section") for f in SECTIONS], default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    set_threads()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows: list[Row] = []
    ratios: list[Ratio] = []
    for section in SECTIONS:
        if args.only and section.__name__ != f"{args.only}_section":
            continue
        r, q = section(args.quick)
        rows += r
        ratios += q
    print(f"\n{'section':10s} {'method':14s} {'setting':>8s} {'size':>8s} {'unit':18s} {'ratio':>8s} {'accuracy':>9s}")
    for r in rows:
        print(
            f"{r.section:10s} {r.method:14s} {r.setting:>8s} {r.size:8.3f} {r.size_unit:18s} {r.compression:8.1f} "
            f"{r.accuracy:9.4f}"
        )
    print(f"load average at end: {os.getloadavg()}")
    report("compression", ratios)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": [asdict(r) for r in rows], "ratios": [asdict(q) for q in ratios]}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
