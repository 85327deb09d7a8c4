"""Model compression, size against accuracy: each method next to its baselines at equal size.

Sections are row-producing functions in :data:`SECTIONS`; each returns its table rows (:class:`Row`) and its
ratios for ``benchmarks/run_all.py`` (``BENCH`` lines). Add a method by appending a function.

* ``deltadq``: MiniLM fine-tuned on RT (delta in the encoder's linear weights), compressed at 16x/64x/128x
  with DeltaDQ, DARE, BitDelta-lite and magnitude pruning (:mod:`trustmap.compress`); size = bits per delta
  entry, accuracy on RT test snippets, one mask seed. Ratios: DeltaDQ minus DARE at 64x (points; methods.md's
  target >= 3) and DeltaDQ at 16x minus the uncompressed model (target >= -1).

    python benchmarks/bench_compression.py [--quick] [--json out.json]

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

from _report import Ratio, at_least, report

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


SECTIONS: list[Section] = [deltadq_section]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: checks that it runs")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    set_threads()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows: list[Row] = []
    ratios: list[Ratio] = []
    for section in SECTIONS:
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
