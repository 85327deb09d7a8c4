"""Stolen or independent? Separation (ROC-AUC) of ModelDiff's DDV alone and of DDV plus conferrable
adversarial examples (CAE, arXiv 1912.00888), on held-out models trained here.

Owner: a source model (``--sources``, default CNN-S and MLP) trained on an FMNIST pool. Suspects, per
source, none of them seen while the fingerprint is built:

- stolen (``--copies``): KnockoffNets thieves (arXiv 1812.02766) on the source's hard labels for
  MNIST-5k training images plus unlabelled FMNIST images (the project's query pool), architectures in
  turn: the other architecture, the other again, then the source's own; each its own seed and queries;
- independent (``--independent``): trained on the true labels of another FMNIST pool, architectures in
  turn: the source's own (the hardest case), the other, the source's own again; each its own seed.

Scores: DDV = ModelDiff similarity (300 input pairs, search steered by both models); CAE = the suspect's
CAE accuracy on the source's fingerprint (queries: MNIST-5k *test* images, never a thief's); DDV+CAE =
their mean (fixed before measuring). AUC pools every source's suspects, stolen = positive.

    python benchmarks/bench_provenance.py [--quick] [--json out.json]

``--quick``: one source, 2 copies and 2 independent models on 2,000 images, 1 epoch: it checks that the
script runs, not the separation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _report import Ratio, at_least, report

from trustmap.data import load_dataset
from trustmap.models import TrainConfig, build_model, fit
from trustmap.probes.extraction.knockoff import train_thief
from trustmap.probes.membership.metrics import roc_auc
from trustmap.provenance.conferrable import cae_accuracy, make_fingerprint
from trustmap.provenance.modeldiff import compare_models

OTHER = {"cnn-s": "mlp", "mlp": "cnn-s"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", default="cnn-s,mlp")
    p.add_argument("--copies", type=int, default=3)
    p.add_argument("--independent", type=int, default=3)
    p.add_argument("--pool", type=int, default=10000, help="training images per FMNIST pool")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--pairs", type=int, default=300)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.sources, args.copies, args.independent, args.pool, args.epochs, args.pairs = "cnn-s", 2, 2, 2000, 1, 50
    return args


def train(arch: str, x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int) -> torch.nn.Module:
    from trustmap.data.dataset import Split

    model = build_model(arch, input_shape=(1, 28, 28), num_classes=10, seed=seed)
    fit(model, Split(x, y), config=TrainConfig(epochs=epochs, batch_size=128, lr=3e-3), seed=seed, progress=False)
    return model.eval()


@torch.no_grad()
def labels(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(x)
    return torch.cat([model(t[i : i + 1000]).argmax(1) for i in range(0, len(t), 1000)]).numpy()


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    fm, mn = load_dataset("fashion-mnist"), load_dataset("mnist-5k")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(fm.train))
    pools = [order[i * args.pool : (i + 1) * args.pool] for i in range(3)]  # owner, independent, thief
    own, other, unlab = (fm.train.x[p] for p in pools)
    own_y, other_y = fm.train.y[pools[0]], fm.train.y[pools[1]]
    n_q = min(2500, args.pool)
    rows, start = [], time.perf_counter()
    for si, arch in enumerate(args.sources.split(",")):
        source = train(arch, own, own_y, epochs=args.epochs, seed=100 * si)
        suspects: list[tuple[str, bool, torch.nn.Module]] = []
        for k in range(args.copies):
            thief_arch = OTHER[arch] if k % 3 < 2 else arch
            qrng = np.random.default_rng(1000 + 100 * si + k)
            q = np.concatenate(
                [mn.train.x[qrng.permutation(len(mn.train.x))[:n_q]], unlab[qrng.permutation(len(unlab))[:n_q]]]
            )
            thief = build_model(thief_arch, input_shape=(1, 28, 28), num_classes=10, seed=100 * si + 10 + k)
            train_thief(
                thief,
                q,
                labels(source, q),
                soft=False,
                seed=100 * si + 10 + k,
                config=TrainConfig(epochs=2 * args.epochs, batch_size=64, lr=2e-3),
            )
            suspects.append((f"stolen {thief_arch} #{k}", True, thief))
        for k in range(args.independent):
            ind_arch = arch if k % 3 != 1 else OTHER[arch]
            suspects.append(
                (
                    f"independent {ind_arch} #{k}",
                    False,
                    train(ind_arch, other, other_y, epochs=args.epochs, seed=100 * si + 50 + k),
                )
            )
        t0 = time.perf_counter()
        fp = make_fingerprint(
            source,
            train_x=own,
            train_y=own_y,
            seeds_x=fm.test.x,
            seeds_y=fm.test.y,
            query_x=mn.test.x,
            archs=tuple(dict.fromkeys([arch, *OTHER.values()])),
            value_range=(0.0, 1.0),
            seed=si,
        )
        print(
            f"source {arch}: fingerprint in {time.perf_counter() - t0:.0f}s, held-out copy "
            f"{fp.surrogate_accuracy:.2f}, held-out independent {fp.reference_accuracy:.2f}, "
            f"threshold {fp.threshold:.3f}",
            flush=True,
        )
        for name, stolen, model in suspects:
            ddv = compare_models(
                source, model, seeds=fm.test.x, n_pairs=args.pairs, value_range=(0.0, 1.0), seed=si
            ).similarity
            cae = cae_accuracy(fp, model)
            acc = float((labels(model, fm.test.x) == fm.test.y).mean())
            rows.append(
                {
                    "source": arch,
                    "suspect": name,
                    "stolen": stolen,
                    "ddv": ddv,
                    "cae": cae,
                    "ddv+cae": (ddv + cae) / 2,
                    "cae_threshold": fp.threshold,
                    "cae_verdict": cae >= fp.threshold,
                    "accuracy": acc,
                }
            )
            print(
                f"  {name:24s} DDV {ddv:.3f}  CAE {cae:.3f}  mean {(ddv + cae) / 2:.3f}  "
                f"copy verdict {cae >= fp.threshold}  test acc {acc:.3f}",
                flush=True,
            )
    y = np.array([r["stolen"] for r in rows])
    auc = {
        k: roc_auc(np.array([r[k] for r in rows])[y], np.array([r[k] for r in rows])[~y])
        for k in ("ddv", "cae", "ddv+cae")
    }
    verdict_acc = float(np.mean([r["cae_verdict"] == r["stolen"] for r in rows]))
    print(
        f"\nstolen vs independent, {int(y.sum())} vs {int((~y).sum())} suspects: AUC DDV {auc['ddv']:.3f}, "
        f"CAE {auc['cae']:.3f}, DDV+CAE {auc['ddv+cae']:.3f}; CAE verdict correct on {verdict_acc:.1%} "
        f"({time.perf_counter() - start:.0f}s)"
    )
    report(
        "provenance",
        [
            Ratio(
                "AUC stolen vs independent",
                "ddv",
                "chance",
                auc["ddv"],
                "ModelDiff DDV similarity alone: ROC-AUC of stolen over independent suspects (0.5 = chance)",
            ),
            Ratio(
                "AUC stolen vs independent",
                "ddv+cae",
                "chance",
                auc["ddv+cae"],
                "mean of DDV and CAE accuracy: ROC-AUC of stolen over independent suspects",
                *at_least(auc["ddv+cae"], 0.9),
            ),
            Ratio(
                "AUC gain",
                "ddv+cae",
                "ddv",
                auc["ddv+cae"] - auc["ddv"],
                "AUC of DDV+CAE minus AUC of DDV alone (> 0: the copy test adds separation)",
                *at_least(auc["ddv+cae"] - auc["ddv"], 1e-9),
            ),
        ],
    )
    result = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "auc": auc,
        "cae_verdict_accuracy": verdict_acc,
        "suspects": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
