"""PGD robust-accuracy evaluation: trustmap vs torchattacks vs ART vs a bare autograd loop.

Same model, data, batches and settings for everyone: L∞ PGD-20, eps 0.1, step 2.5 * eps / steps, one
random start, on ``--n`` stratified Fashion-MNIST test images in batches of ``--batch``. The model is
trained here (``--arch``, ``--train-n`` images, ``--epochs``) so the script is self-contained.

Wall time is the headline; process CPU time is shown too, because on a shared machine it tracks the work
done more steadily than wall time does (with ``--threads 1`` it is close to an idle machine's wall time).

Robust accuracy means "correct on the clean input and on the attacked one" for every library. Each timing
includes the attack and the predictions needed to score it. Runs are interleaved and repeated
(``--repeats``); the table shows the fastest run of each (the least disturbed by other processes).

Rows:
  trustmap        ``robust_accuracy(..., attack=pgd)``: attacks only clean-correct examples, early stop
  trustmap-full   ``pgd(..., early_stop=False)`` on every batch: the per-step cost of the loop itself
  torchattacks    ``torchattacks.PGD`` on every batch
  art             ``ProjectedGradientDescent`` over a ``PyTorchClassifier`` (numpy in and out)
  floor           ``steps`` bare forward + ``autograd.grad`` passes on every batch (no attack logic)

Targets: trustmap / art <= 1/3, trustmap / torchattacks <= 1/2, trustmap robust accuracy no higher than
theirs + 0.5 point, trustmap-full / floor <= 1.15.

    python benchmarks/bench_pgd.py --threads 2 --json bench_pgd.json

``--quick`` (2,000 training images, 200 test images, one repeat) only checks that it runs; ``make bench``
(``benchmarks/run_all.py``) collects the ratios.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _report import Ratio, at_most, report

from trustmap.data import load_dataset, stratified_indices
from trustmap.models import TrainConfig, build_model, fit
from trustmap.probes.evasion import pgd, robust_accuracy
from trustmap.probes.evasion.robust import correct
from trustmap.utils.seed import seeded_global_rng, torch_generator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="cnn-s", help="cnn-s (default, fast to train) or cnn (4 conv + BN)")
    p.add_argument("--train-n", type=int, default=60000, help="training images (default: all 60,000)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--n", type=int, default=1000, help="test images to attack (default 1000)")
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--eps", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip", default="", help="comma-separated rows to leave out (art, torchattacks, ...)")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="small sizes (--train-n 2000 --n 200 --repeats 1)")
    args = p.parse_args(argv)
    if args.quick:
        args.train_n, args.n, args.repeats = min(args.train_n, 2000), min(args.n, 200), 1
    return args


def train(args: argparse.Namespace, ds) -> torch.nn.Module:  # type: ignore[no-untyped-def]
    idx = stratified_indices(ds.train.y, args.train_n, seed=0)
    with seeded_global_rng(0):  # initial weights and any dropout masks
        model = build_model(args.arch, input_shape=ds.input_shape, num_classes=ds.num_classes)
        fit(model, ds.train.subset(idx), config=TrainConfig(epochs=args.epochs, lr=3e-3), seed=0, progress=False)
    return model.eval()


def batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def runners(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, args: argparse.Namespace
) -> dict[str, Callable[[], float | None]]:
    """name -> a function that runs one full evaluation and returns its robust accuracy (None: not scored)."""
    eps, steps, alpha = args.eps, args.steps, 2.5 * args.eps / args.steps
    clean = torch.from_numpy(correct(model, x, y))

    def trustmap() -> float:
        attack = functools.partial(pgd, eps=eps, alpha=alpha, steps=steps, generator=torch_generator(0))
        return robust_accuracy(model, x, y, attack=attack, batch_size=args.batch).robust_accuracy

    def trustmap_full() -> None:
        g = torch_generator(0)
        for s in batches(len(y), args.batch):
            pgd(model, x[s], y[s], eps=eps, alpha=alpha, steps=steps, generator=g, early_stop=False)

    def floor() -> None:
        for s in batches(len(y), args.batch):
            for _ in range(steps):
                xa = x[s].clone().requires_grad_(True)
                torch.autograd.grad(F.cross_entropy(model(xa), y[s], reduction="sum"), xa)

    def torchattacks_pgd() -> float:
        import torchattacks

        attack = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
        ok = []
        with seeded_global_rng(0):  # torchattacks draws its random start from torch's global state
            for s in batches(len(y), args.batch):
                adv = attack(x[s], y[s])
                with torch.no_grad():
                    ok.append(model(adv).argmax(1) == y[s])
        return float((torch.cat(ok) & clean).float().mean())

    def art_pgd() -> float:
        from art.attacks.evasion import ProjectedGradientDescent
        from art.estimators.classification import PyTorchClassifier

        np.random.seed(0)  # ART draws its random start from numpy's global state
        clf = PyTorchClassifier(
            model=model,
            loss=torch.nn.CrossEntropyLoss(),
            input_shape=tuple(x.shape[1:]),
            nb_classes=10,
            clip_values=(0.0, 1.0),
            device_type="cpu",
        )
        attack = ProjectedGradientDescent(
            clf,
            norm=np.inf,
            eps=eps,
            eps_step=alpha,
            max_iter=steps,
            num_random_init=1,
            batch_size=args.batch,
            verbose=False,
        )
        xn, yn = x.numpy(), y.numpy()
        adv = attack.generate(xn, yn)
        pred = clf.predict(adv, batch_size=args.batch).argmax(1)
        return float(((pred == yn) & clean.numpy()).mean())

    table = {
        "trustmap": trustmap,
        "trustmap-full": trustmap_full,
        "torchattacks": torchattacks_pgd,
        "art": art_pgd,
        "floor": floor,
    }
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return {k: v for k, v in table.items() if k not in skip}


def summary(best: dict[str, float], robust: dict[str, float | None]) -> list[Ratio]:
    """The ratios for ``benchmarks/run_all.py`` (the same targets as the checks above)."""
    out = []
    if "trustmap" in best:
        for other, label, limit in (("art", "ART", 1 / 3), ("torchattacks", "torchattacks", 1 / 2)):
            if other in best:
                value = best["trustmap"] / best[other]
                out.append(
                    Ratio(
                        "wall time",
                        "trustmap",
                        other,
                        value,
                        f"trustmap's PGD evaluation time / {label}'s",
                        *at_most(value, limit),
                    )
                )
                diff = float(robust["trustmap"]) - float(robust[other])  # type: ignore[arg-type]
                out.append(
                    Ratio(
                        "robust acc diff",
                        "trustmap",
                        other,
                        diff,
                        f"robust accuracy, trustmap minus {label} (higher: trustmap's attack is weaker)",
                        *at_most(diff, 0.005 + 1e-9),
                    )
                )
    if "trustmap-full" in best and "floor" in best:
        value = best["trustmap-full"] / best["floor"]
        out.append(
            Ratio(
                "per-step time",
                "trustmap-full",
                "floor",
                value,
                "PGD loop / bare forward+grad passes: the attack logic's overhead",
                *at_most(value, 1.15),
            )
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    ds = load_dataset("fashion-mnist")
    t0 = time.perf_counter()
    model = train(args, ds)
    train_s = time.perf_counter() - t0
    idx = stratified_indices(ds.test.y, args.n, seed=0)
    x, y = torch.from_numpy(ds.test.x[idx]), torch.from_numpy(ds.test.y[idx])
    clean_acc = float(correct(model, x, y).mean())
    print(
        f"{args.arch} trained on {args.train_n} images x {args.epochs} epochs in {train_s:.1f}s; "
        f"clean accuracy {clean_acc:.3f} on {args.n} test images; torch {torch.__version__}, "
        f"{args.threads} thread(s)",
        flush=True,
    )

    todo = runners(model, x, y, args)
    times: dict[str, list[float]] = {k: [] for k in todo}
    cpu: dict[str, list[float]] = {k: [] for k in todo}
    robust: dict[str, float | None] = {}
    for rep in range(args.repeats):
        for name, fn in todo.items():
            t, c = time.perf_counter(), time.process_time()
            acc = fn()
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
            robust[name] = acc
            print(f"  repeat {rep + 1} {name:13s} {times[name][-1]:7.2f}s wall {cpu[name][-1]:7.2f}s cpu", flush=True)

    best = {k: min(v) for k, v in times.items()}
    best_cpu = {k: min(v) for k, v in cpu.items()}
    print(f"\nPGD-{args.steps} L∞ eps={args.eps} on {args.n} images, batch {args.batch} (fastest of {args.repeats})")
    print(f"{'method':14s} {'wall s':>8s} {'cpu s':>8s} {'robust acc':>11s}")
    for name in todo:
        r = robust.get(name)
        print(f"{name:14s} {best[name]:8.2f} {best_cpu[name]:8.2f} {'' if r is None else f'{r:11.3f}'}")

    ratios: dict[str, float] = {}
    checks: dict[str, bool] = {}
    if "trustmap" in best:
        for other, target in (("art", 1 / 3), ("torchattacks", 1 / 2)):
            if other in best:
                ratios[f"trustmap/{other}"] = best["trustmap"] / best[other]
                ratios[f"trustmap/{other} (cpu)"] = best_cpu["trustmap"] / best_cpu[other]
                checks[f"time vs {other} <= {target:.2f}"] = ratios[f"trustmap/{other}"] <= target
                diff = float(robust["trustmap"]) - float(robust[other])  # type: ignore[arg-type]
                ratios[f"robust diff vs {other}"] = diff
                checks[f"robust acc vs {other} <= +0.005"] = diff <= 0.005 + 1e-9  # 5 in 1,000 is allowed
    if "trustmap-full" in best and "floor" in best:
        ratios["per-step trustmap-full/floor"] = best["trustmap-full"] / best["floor"]
        ratios["per-step trustmap-full/floor (cpu)"] = best_cpu["trustmap-full"] / best_cpu["floor"]
        checks["per-step overhead <= 1.15"] = ratios["per-step trustmap-full/floor"] <= 1.15
    print()
    for k, v in ratios.items():
        print(f"{k:32s} {v:+.3f}" if "diff" in k else f"{k:32s} {v:.3f}")
    for k, ok in checks.items():
        print(f"{'PASS' if ok else 'MISS'}  {k}")
    report("pgd", summary(best, robust))

    result = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "train_seconds": train_s,
        "clean_accuracy": clean_acc,
        "seconds": best,
        "cpu_seconds": best_cpu,
        "all_seconds": times,
        "all_cpu_seconds": cpu,
        "robust_accuracy": robust,
        "ratios": ratios,
        "checks": checks,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
