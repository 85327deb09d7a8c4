"""Many audits at once: ``trustmap sweep`` on a local Ray runtime against the same audits one after another.

Trains ``--models`` small Fashion-MNIST models (CNN-S, different seeds, member splits), then audits them
twice from empty results stores: in-process one after another (the baseline), and with
:func:`trustmap.audit.sweep.sweep_audits` on ``--workers`` Ray workers. Same probes, budget and seed;
the grades must agree. Wall time includes Ray's start-up, which a one-off sweep pays every time.

On 2 cores the ceiling is about 2x; the ratio printed is sequential / sweep (higher is better).

    python benchmarks/bench_sweep.py --models 4 --workers 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--budget", default="quick")
    p.add_argument("--probes", default="fgsm,pgd-linf,mia-loss,mia-confidence,group-fairness")
    p.add_argument("--quick", action="store_true", help="digits models and two probes (seconds, for CI)")
    args = p.parse_args(argv)

    from trustmap.audit.sweep import sweep_audits
    from trustmap.audit.workflow import audit_files
    from trustmap.models.workflows import train_and_save
    from trustmap.store import ResultsStore

    data, arch, epochs = ("digits", "mlp", 3) if args.quick else ("fashion-mnist", "cnn-s", 1)
    probes = ["fgsm", "mia-loss"] if args.quick else args.probes.split(",")
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    models = []
    for seed in range(args.models):
        out = root / f"m{seed}.pt2"
        train_and_save(data, out=out, arch=arch, epochs=epochs, seed=seed, member_fraction=0.5)
        models.append(out)

    start = time.perf_counter()
    sequential = {}
    for m in models:
        stem = m.with_suffix("")
        res = audit_files(
            model=m,
            data=data,
            out=root / "seq" / m.stem,
            store=ResultsStore.open(root / "seq.sqlite"),
            members=Path(f"{stem}.members.npz"),
            nonmembers=Path(f"{stem}.nonmembers.npz"),
            budget=args.budget,
            probes=probes,
            seed=0,
        )
        report = json.loads(res.json.read_text())
        sequential[m.stem] = {g["dimension"]: g["grade"] for g in report["scorecard"]}
    t_seq = time.perf_counter() - start

    start = time.perf_counter()
    outcome = sweep_audits(
        models,
        data=data,
        out=root / "sweep",
        store_path=root / "sweep.sqlite",
        budget=args.budget,
        probes=probes,
        seed=0,
        num_cpus=args.workers,
    )
    t_sweep = time.perf_counter() - start
    swept = {r.name: {d: g["grade"] for d, g in r.grades.items()} for r in outcome.rows}
    result = {
        "models": args.models,
        "workers": args.workers,
        "sequential_s": round(t_seq, 2),
        "sweep_s": round(t_sweep, 2),
        "speedup": round(t_seq / t_sweep, 3),
        "grades_agree": float(swept == sequential),
    }
    print(f"{args.models} audits ({', '.join(probes)}; budget {args.budget}) on {data}")
    print(f"  one after another   {t_seq:8.1f} s")
    print(f"  sweep, {args.workers} Ray workers {t_sweep:8.1f} s  (incl. Ray start-up)")
    print(f"  speed-up            {t_seq / t_sweep:8.2f}x   grades agree: {swept == sequential}")
    print(
        "BENCH "
        + json.dumps(
            {
                "name": "sweep",
                "baseline": "sequential audits",
                "method": "trustmap sweep",
                "ratio": result["speedup"],
                "meaning": "sequential / sweep wall time (higher is better)",
                **result,
            }
        )
    )
    return result


if __name__ == "__main__":
    main()
